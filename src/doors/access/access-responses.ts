import { Type } from 'typebox';
import { errorView } from '../../server/openapi-responses.js';

/**
 * The documented answers of the access door's routes that several routes or statuses share: each
 * status with its own description, and each error naming the machine codes it can carry. Without
 * one, @fastify/swagger says "Default Response"; and a route's own 400 hides the shared one's list
 * of codes, so it names those too. The bodies' properties are the ones the routes always had:
 * Fastify serializes answers through them.
 */

/** A Pryv answer `{status, code, ...}` (the HTTP status is `code`) described as `description`. */
export function pryvStateView(description: string) {
  return Type.Object({ status: Type.String(), code: Type.Integer() }, { additionalProperties: true, description });
}

/** A Pryv register error `{id, message, ...}` (`id` is the machine code) described as `description`. */
export function pryvErrorView(description: string) {
  return Type.Object({ id: Type.String(), message: Type.String() }, { additionalProperties: true, description });
}

/** What `GET /access/:key/events` streams (its 200). */
export const ACCESS_EVENTS_STREAMED = '`state` events (`id:` the request\'s version, `data:` the poll body `GET /access/{key}` answers without a delivery code): the request now and on every change, until it is decided (`ACCEPTED`, `REFUSED` or `ERROR`), then the stream ends. A comment line (`: keep-alive`) every 25 s without a change keeps proxies from closing it. A stream ends after 5 times PAIRGATE_WAIT_MAX_SECONDS: reconnect (EventSource does, sending `Last-Event-ID`, and is then not sent the state it has again).';

/** The event stream's `Last-Event-ID` (EventSource sends it when it reconnects). */
export const AccessLastEventIdHeaders = Type.Object({
  'last-event-id': Type.Optional(Type.String({ description: 'The `id:` of the last event the client has: the stream resumes after it (that state is not sent again), and when that state is the decision, the answer is 204. Anything else is ignored: the request is sent as it is.' })),
});

const UNKNOWN_KEY = '`unknown_key`: no live auth request has this key (unknown, a wrong secret part, expired, answered and read longer ago than PAIRGATE_ACCESS_DECIDED_TTL_SECONDS, or accepted for an access that has ended since: the account deleted, the access revoked or expired); start a new one.';

/** The documented errors of the access door's routes. */
export const AccessErrors = {
  create400: pryvErrorView(
    '`validation_failed`: a field missing, too long or of the wrong type, deviceName empty once trimmed or holding a character the pages cannot show, or serviceInfo too deep or too large; ' +
    '`invalid_json`, `body_forbidden_key`, `body_not_utf8` or `invalid_content_length`: a body that cannot be read as sent; ' +
    '`invalid_app_id`: requestingAppId not 6 to 99 characters once trimmed, holding a character the pages cannot show, or mixing Latin letters with look-alike ones of another script; ' +
    '`invalid_permissions`: a permission without exactly one of streamId, tag or feature, or with fields that do not go with it; ' +
    '`invalid_language_code`: languageCode not a language tag; `invalid_client_data`: clientData too deep or too large; ' +
    '`invalid_return_url`: returnURL not an http(s) URL without credentials, with a plain host; `return_url_not_allowed`: its origin not one allowed for this app (PAIRGATE_ACCESS_RETURN_ORIGINS); `return_url_required`: none given for an app whose origins are pinned; ' +
    '`untrusted_auth_url`: authUrl not under a trusted auth URL; `invalid_auth_url`: authUrl with a fragment. The code is in `id` (and `error.id`); `detail.field` names the field where there is one.',
  ),
  create429: pryvErrorView('`rate_limited`: too many auth requests from this network this minute (PAIRGATE_ACCESS_CREATE_PER_MINUTE), or too many alive on the server (PAIRGATE_ACCESS_MAX_PENDING); `too_many_pending`: this network has PAIRGATE_ACCESS_MAX_PENDING_PER_IP waiting. `Retry-After` says when to try again.'),
  unknownKey: pryvErrorView(UNKNOWN_KEY),
  eventsOver: Type.Null({ description: 'No event will follow: `Last-Event-ID` names the request\'s version and the request is decided (the client has the decision). EventSource stops reconnecting on a 204.' }),
  introspect401: errorView('`introspection_unauthorized`: PAIRGATE_ACCESS_INTROSPECTION_SECRET not presented as `Authorization: Bearer <secret>`; `introspection_not_configured`: none is set, and introspection is closed. `WWW-Authenticate: Bearer` comes with it.'),
  accessesUnauthorized: errorView('`sign_in_required`: no valid session cookie; sign in first.'),
  accessesCrossSite: errorView('`csrf_failed`: the browser says the request came from another site (Sec-Fetch-Site or Origin).'),
  accessNotFound: errorView('`access_not_found`: none of your app accesses has this id (already revoked, or never yours).'),
};
