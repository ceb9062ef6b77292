import { Type, type Static } from 'typebox';
import { BODY_UNREADABLE, errorView } from '../../server/openapi-responses.js';

/** Wire schemas of the generic grant API; the OpenAPI document is generated from them. */

export const GrantIdParams = Type.Object({ id: Type.String({ minLength: 10, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }) });
export const CodeParams = Type.Object({ code: Type.String({ minLength: 1, maxLength: 64 }) });

export const CreateGrantBody = Type.Object(
  {
    label: Type.String({ minLength: 1, maxLength: 200, pattern: '\\S', description: 'What the approver is shown: 1 to 200 characters, not only spaces.' }),
    ttl: Type.Optional(Type.Integer({ minimum: 10, maximum: 86400, description: 'Lifetime in seconds; one longer than the server allows (PAIRGATE_GRANT_TTL_SECONDS, 600 by default) is shortened to it, as expiresAt shows.' })),
    data: Type.Optional(Type.Record(Type.String(), Type.String({ maxLength: 1000 }), {
      maxProperties: 20,
      // Stated here, not as the key type's maxLength: TypeBox 1 turns a record's key type into a
      // pattern, and a key type's length was lost with it.
      propertyNames: { maxLength: 64 },
      description: 'Small string facts shown to the approver: up to 20, each name up to 64 characters.',
    })),
  },
  { additionalProperties: false },
);
export type CreateGrantBody = Static<typeof CreateGrantBody>;

export const DecisionBody = Type.Object(
  { note: Type.Optional(Type.String({ maxLength: 500, description: 'Passed to the creator with the result. Line breaks and tabs may be in it; other control and text-direction characters may not (400 `validation_failed`, field `note`).' })) },
  { additionalProperties: false },
);
export type DecisionBody = Static<typeof DecisionBody>;

export const RedeemBody = Type.Object({ secret: Type.String({ minLength: 10, maxLength: 200 }) }, { additionalProperties: false });

export const GrantView = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  state: Type.String(),
  version: Type.Integer(),
  label: Type.String(),
  data: Type.Record(Type.String(), Type.String()),
  createdAt: Type.String(),
  expiresAt: Type.String(),
}, { description: 'The grant as it is now: its state (`pending`, `approved`, `refused`, `redeemed`), what it asks, and when it expires.' });

export const CreatedGrantView = Type.Intersect([
  GrantView,
  Type.Object({
    code: Type.String({ description: 'The code to read out, grouped for display.' }),
    secret: Type.String({ description: 'Kept by the creator to redeem the grant; shown once.' }),
    waitUrl: Type.String(),
    eventsUrl: Type.String(),
  }),
], { description: 'The new grant, with the code to give the approver and the secret that redeems it (shown only here).' });

export const CodeView = Type.Object({
  label: Type.String(),
  data: Type.Record(Type.String(), Type.String()),
  state: Type.String(),
  expiresAt: Type.String(),
}, { description: 'What the code asks (label and data facts) and until when, for the person about to decide.' });

export const RedeemedView = Type.Object({ id: Type.String(), state: Type.String(), approvedBy: Type.String(), note: Type.Union([Type.String(), Type.Null()]) }, { description: 'The grant is redeemed (`state` is `redeemed`): who approved it and their note. It can never be redeemed again.' });

/** What `GET /api/v1/grants/:id/events` streams (its 200). */
export const EVENTS_STREAMED = '`state` events (`id:` the grant\'s version, `data:` the grant as `GET /api/v1/grants/{id}` answers it): the grant now and on every change, until it is final (`refused` or `redeemed`); a `gone` event (`{"id"}`) when it expires, then the stream ends. A comment line (`: keep-alive`) every 25 s without a change keeps proxies from closing it. A stream ends after 5 times PAIRGATE_WAIT_MAX_SECONDS: reconnect (EventSource does, sending `Last-Event-ID`, and is then not sent the state it has again).';

/** The event stream's `Last-Event-ID` (EventSource sends it when it reconnects). */
export const LastEventIdHeaders = Type.Object({
  'last-event-id': Type.Optional(Type.String({ description: 'The `id:` of the last event the client has, the grant\'s version: the stream resumes after it (that state is not sent again), and when it is the final state, the answer is 204. Anything else is ignored: the grant is sent as it is.' })),
});

const VALIDATION = '`validation_failed` (a field, parameter or query the schema refuses)';
// A route's own 400 hides the shared one's codes: those reading a body name its refusals again.
const BODY = `; ${BODY_UNREADABLE}`;
const CODE_REFUSED = '`code_wrong_length`, `code_bad_character` or `code_check_failed` (a typo caught before any look-up; `problem` says which), or ' + VALIDATION;
const CODE_LIMITED = '`rate_limited`: too many code look-ups, or too many wrong codes from this address this hour (`Retry-After`).';

/** The documented error answers of each route of the generic grant API. */
export const GrantErrors = {
  create400: errorView(`${VALIDATION}: a label missing, blank (only spaces) or over 200 characters, a field of the wrong JSON type (a number for the label, a string for the ttl), a field not listed, a ttl out of 10-86400, more than 20 data facts, a control or text-direction character (such as U+0000 or U+202E) in the label or a fact (field names it)${BODY}.`),
  create401: errorView('`grants_token_required`: this server requires PAIRGATE_GRANTS_CREATE_TOKEN to create grants, and the request sent none or another (`WWW-Authenticate: Bearer`).'),
  create429: errorView('`rate_limited`: too many creations from this address, or too many grants waiting on the server; `too_many_live_grants`: this address holds PAIRGATE_GRANTS_MAX_LIVE_PER_IP live grants (`Retry-After`).'),
  notFound: errorView('`grant_not_found`: no live grant has this id (it expired and was deleted, or the id is wrong).'),
  read400: errorView(`${VALIDATION}: an id not made of 10 to 64 letters, digits, \`-\` or \`_\`, a since that is not a whole number or is given more than once; \`invalid_wait\`: a wait that is not seconds in decimal digits.`),
  events400: errorView(`${VALIDATION}: an id not made of 10 to 64 letters, digits, \`-\` or \`_\`.`),
  redeem400: errorView(`${VALIDATION}: the secret missing, not a string or not 10 to 200 characters, a field other than secret, an id not made of 10 to 64 letters, digits, \`-\` or \`_\`${BODY}.`),
  redeem404: errorView('`grant_not_found`: no live grant has this id and secret (the same answer for a wrong id and a wrong secret).'),
  redeem409: errorView('`grant_pending` (not decided yet), `grant_refused` (with the refuser\'s `note`), `grant_redeemed` (redeemed once already); `state` says the grant\'s state.'),
  code400: errorView(`${CODE_REFUSED}.`),
  decision400: errorView(`${CODE_REFUSED}: a note that is not a string, over 500 characters or holding a control or text-direction character other than line breaks and tabs, a field other than note${BODY}.`),
  code404: errorView('`code_not_found`: no live request has this code (it expired, was already decided, or is not the one given).'),
  code409: errorView('`grant_approved`, `grant_refused` or `grant_redeemed`: someone decided on this code at the same moment.'),
  code429: errorView(CODE_LIMITED),
  eventsOver: Type.Null({ description: 'No event will follow: `Last-Event-ID` names the grant\'s version and that state is final. EventSource stops reconnecting on a 204.' }),
  events429: errorView('`rate_limited`: this address already holds all the waits and streams it may (PAIRGATE_WAITS_PER_CLIENT), or the server all of its own (PAIRGATE_WAITS_MAX); `Retry-After` says when to try again (or read the grant by long-poll, which is answered at once then).'),
};
