import { Type } from 'typebox';

/** Wire schemas of the support origin (Plexus's PascalCase JSON); OpenAPI is generated from them. */

/** Session ids: what the seed uses (`helping-joe`), safe in paths and `.msh` files, never a `:`. */
export const SESSION_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';

export const CreateSessionBody = Type.Object(
  {
    id: Type.Optional(Type.String({ pattern: SESSION_ID_PATTERN, description: 'Session id (letters, digits, . _ -; up to 64); random when absent.' })),
    ttl: Type.Optional(Type.Integer({ minimum: 10, description: 'Session lifetime in seconds (at most PAIRGATE_SUPPORT_MAX_TTL).' })),
    username: Type.Optional(Type.String({ maxLength: 200, description: 'The session\'s own login (may read, attach to and end this session); no `:`, which Basic auth takes for the end of the name.' })),
    password: Type.Optional(Type.String({ maxLength: 200, description: 'Password of `username`; stored as a scrypt hash.' })),
    supporter_name: Type.Optional(Type.String({ maxLength: 200, description: 'Shown to the person before they confirm; required when pairing is on.' })),
    supporter_avatar: Type.Optional(Type.String({ maxLength: 2000, description: 'Public https URL of the supporter\'s picture; required when pairing is on.' })),
  },
  { additionalProperties: false },
);

export const AgentConfigView = Type.Object({
  ServerID: Type.String(),
  MeshName: Type.String(),
  MeshType: Type.Integer(),
  MeshID: Type.String(),
  MeshIDHex: Type.String(),
  MeshServer: Type.String({ description: 'WebSocket URL of the session channel for the agent.' }),
});

export const CreatedSessionView = Type.Object({
  ID: Type.String(),
  SessionURL: Type.String(),
  AgentMSH: Type.String({ description: 'URL of the agent configuration file.' }),
  AgentConfig: AgentConfigView,
  ExpiresAt: Type.String(),
  PairingCode: Type.Optional(Type.String({ description: 'The code to read out (when pairing is on).' })),
  PairingURL: Type.Optional(Type.String({ description: 'The relay URL of the code (original spelling).' })),
  PairingUrl: Type.Optional(Type.String({ description: 'The same value, as the seed\'s example spells it.' })),
}, { description: 'The session: its id and URL, the agent\'s configuration (AgentMSH, AgentConfig; the agent token in them is shown only here) and, with pairing on, the code to read out.' });

export const SessionView = Type.Object({
  ID: Type.String(),
  State: Type.Union([Type.Literal('waiting'), Type.Literal('confirmed'), Type.Literal('connected'), Type.Literal('declined'), Type.Literal('expired')]),
  Version: Type.Integer({ description: 'Pass as `since` with `wait` to be answered on the next change.' }),
  SessionURL: Type.String(),
  SupporterName: Type.String(),
  SupporterAvatar: Type.String(),
  Pairing: Type.Boolean({ description: 'Whether the session has a pairing code.' }),
  CreatedAt: Type.String(),
  ExpiresAt: Type.String(),
  ConfirmedAt: Type.Union([Type.String(), Type.Null()]),
  ConnectedAt: Type.Union([Type.String(), Type.Null()]),
  PairingCodeExpiresAt: Type.Union([Type.String(), Type.Null()], { description: 'When the session\'s pairing code stops working, while one is live (the session waiting, the code neither expired, declined nor burned); null otherwise (then `POST /session/:id/code` gives a new one to a waiting session).' }),
}, { description: 'The session: its state (`waiting`, `confirmed`, `connected`, `declined`, `expired`), its supporter, and when its code and the session expire.' });

export const SessionListView = Type.Object({ Sessions: Type.Array(SessionView) }, { description: 'The live sessions, each as `GET /session/:id` shows it.' });

export const SessionIdParams = Type.Object({ id: Type.String({ pattern: SESSION_ID_PATTERN }) });
/** The language a page is asked in (`?lang=en`, `?lang=fr`, as its switch links): its refusals before the route (a rate limit, a bad address) say so in it too. */
export const PageLanguageQuery = Type.Object({
  lang: Type.Optional(Type.String({ maxLength: 5, description: 'The page\'s language (`en`, `fr`), for browsers; programs need not send it.' })),
});

export const RefParams = Type.Object({ ref: Type.String({ minLength: 3, maxLength: 200 }) });
export const PairingCodeParams = Type.Object({ code: Type.String({ minLength: 1, maxLength: 64 }) });

export const SupporterChannelQuery = Type.Object({
  history: Type.Optional(Type.Boolean({ description: 'Send the chat so far after the state (a supporter who attaches again).' })),
});

export const PairingInfoView = Type.Object({
  AgentMSH: Type.String(),
  ExpiresAt: Type.String(),
  CompanyName: Type.String(),
  CompanyLogo: Type.String(),
  SupporterName: Type.String(),
  SupporterAvatar: Type.String(),
}, { description: 'Who asks (the supporter and the company) and the agent configuration\'s URL, for the person to see before confirming.' });

export const ConfirmBody = Type.Object(
  {
    Decision: Type.Optional(Type.String({ maxLength: 20, description: '`accept` (default) or `decline`.' })),
    decision: Type.Optional(Type.String({ maxLength: 20, description: 'The page form\'s field.' })),
    _csrf: Type.Optional(Type.String({ maxLength: 100 })),
    lang: Type.Optional(Type.String({ maxLength: 5, description: 'The page form\'s language (`en`, `fr`), when the person chose one: the page it leads to is shown in it.' })),
  },
  { additionalProperties: false },
);

export const ConfirmedView = Type.Object({
  SessionID: Type.String(),
  State: Type.String(),
  MeshServer: Type.String({ description: 'Open a WebSocket here and send {"type":"hello","credential":AgentCredential}.' }),
  AgentCredential: Type.Optional(Type.String({ description: 'The agent\'s session credential; shown once.' })),
  ExpiresAt: Type.String(),
  SupporterName: Type.String(),
  CompanyName: Type.String(),
}, { description: 'The session is confirmed: the agent connects to MeshServer with AgentCredential (shown only here).' });

export const PlexusErrorView = plexusError('An error in the Plexus shape: `Code` is its machine code.');

/**
 * An origin error answer, in the Plexus shape (`{Error: <status text>, Description, Code}`),
 * described by `description`: the machine codes `Code` carries at its status.
 */
export function plexusError(description: string) {
  return Type.Object({ Error: Type.String(), Description: Type.String(), Code: Type.String() }, { description });
}

const SCHEMA_REFUSED = '`validation_failed` (a field, parameter or query the schema refuses), `invalid_json`';
const UNAUTHORIZED = '`unauthorized`: no credentials, or not the admin\'s (PLEXUS_AUTH_USER) nor the session\'s own login (`WWW-Authenticate: Basic`).';
const AUTH_LIMITED = '`auth_failures_exceeded`: too many wrong credentials from this network (or for this session)';
const RELAY_FAILED = '`relay_unreachable`, `relay_refused`, `relay_bad_answer` or `relay_code_taken`: the pairing relay (PLEXUS_PAIRING_URL) gave no usable code; the message says what to check';
const CODE_REFUSED = '`code_wrong_length`, `code_bad_character` or `code_invalid` (cannot be a code; `problem` says why)';

/** The documented error answers of the origin's session and pairing routes. */
export const SupportErrors = {
  create400: plexusError(`\`supporter_required\` (pairing is on and supporter_name or supporter_avatar is missing), \`supporter_name_invalid\` (a control, invisible or text-direction character), \`supporter_avatar_invalid\` (not an https URL, or one with a space or control character inside), \`ttl_invalid\`, \`credentials_incomplete\` (a username without a password, either empty, or a username with a \`:\`, which Basic auth cannot send), \`session_id_taken\`, ${SCHEMA_REFUSED}.`),
  crossSite403: plexusError('`origin_not_allowed`: a browser said the request comes from a page of another site (`Sec-Fetch-Site` other than `same-origin` or `none`, or an `Origin` other than PAIRGATE_PUBLIC_URL\'s); refused before any credential is read. Programs send neither header.'),
  adminOnly401: plexusError('`unauthorized`: no credentials, or not the admin\'s (PLEXUS_AUTH_USER) (`WWW-Authenticate: Basic`).'),
  session401: plexusError(UNAUTHORIZED),
  create413: plexusError('`payload_too_large`: the body is larger than PAIRGATE_BODY_LIMIT.'),
  create415: plexusError('`unsupported_media_type`: the body is neither JSON nor a form.'),
  create429: plexusError(`\`rate_limited\`: too many sessions created from this network, or PAIRGATE_SUPPORT_MAX_SESSIONS are live; ${AUTH_LIMITED}.`),
  create502: plexusError(`${RELAY_FAILED}; no session was created. \`relay_refused\` for a relay's 429 carries its \`Retry-After\`.`),
  params400: plexusError(`${SCHEMA_REFUSED}: an id that is no session id, or a bad \`wait\`.`),
  notFound: plexusError('`session_not_found`: no session has this id (it was deleted, or its expiry is no longer remembered).'),
  session429: plexusError(`${AUTH_LIMITED}; \`rate_limited\`: too many requests from this network.`),
  newCode409: plexusError('`pairing_off` (this server has no relay: PLEXUS_PAIRING_URL is not set), `session_not_waiting` (confirmed or declined already).'),
  newCode502: plexusError(`${RELAY_FAILED}; the session is kept without a code: ask again.`),
  agentFile404: plexusError('`session_not_found`: no live session has this agent link (wrong token, or the session ended).'),
  confirm400: plexusError(`${CODE_REFUSED}, \`decision_invalid\` (neither accept nor decline), ${SCHEMA_REFUSED}.`),
  confirm403: plexusError('`declined` (the answer to a decline: nobody was given access), `csrf_failed` (a form without this browser\'s token), `code_burned` (the code was confirmed wrongly too often and no longer works).'),
  confirm404: plexusError('`code_not_found`: no live session has this code; `code_used`, `code_declined` or `code_burned` when it was decided already.'),
  confirm409: plexusError('`grant_approved` or `grant_refused`: someone decided on this code at the same moment.'),
  confirm415: plexusError('`unsupported_media_type`: confirm with JSON or the page\'s form.'),
  codeLimited429: plexusError('`rate_limited`: too many code look-ups, or too many wrong codes, from this network (`Retry-After`).'),
};
