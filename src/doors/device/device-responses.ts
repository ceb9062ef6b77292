import { Type } from 'typebox';
import { SLOW_DOWN_STEP_SECONDS } from './poll-pacing.js';
import { BODY_UNREADABLE, errorView } from '../../server/openapi-responses.js';

/**
 * The documented error answers of the device door's routes: each status of each route with its own
 * description, naming the machine codes it can carry. Without one, @fastify/swagger says "Default
 * Response"; and a route's own 400 hides the shared one's list of codes, so each names those too.
 * The bodies' properties are the ones the routes always had: Fastify serializes errors through them.
 */

/** An OAuth error body (RFC 6749 §5.2) described as `description`. */
export function oauthErrorView(description: string) {
  return Type.Object({ error: Type.String(), error_description: Type.String() }, { additionalProperties: true, description });
}

// The OAuth error shape turns every pairgate code that is no OAuth one into `invalid_request` (400)
// or `invalid_client` (401), and keeps the original in `pairgate_error`: these say so once.
const OAUTH_MALFORMED = '`invalid_request`: a parameter missing, too long, of the wrong type or sent twice, or a body that cannot be read (`pairgate_error` then names the server\'s code, such as `validation_failed` or `invalid_json`)';
const OAUTH_CLIENT_DIFFERS = 'or client_id in the body and in HTTP Basic differ';
const OAUTH_NO_CLIENT = '`invalid_client`: client_id missing, or a Basic header that is malformed or carries a password, or an Authorization header of another scheme (`Bearer`), or a `client_secret` or `client_assertion` in the form (these clients are public)';
const BASIC_CHALLENGE = '`WWW-Authenticate: Basic` when the client sent an Authorization header (Basic, or a scheme these endpoints do not take)';
const INTROSPECTION_REFUSED = '`invalid_client`: the introspection secret is not presented as `Authorization: Bearer <secret>` (`pairgate_error` `introspection_unauthorized`), or none is configured, and introspection is closed (`introspection_not_configured`).';

const ADMIN_VALIDATION = '`validation_failed`: the client_id in the path breaks its rule (the message says it in words)';
const ADMIN_DISABLED = '`device_admin_disabled`: the admin API is off (PAIRGATE_DEVICE_ADMIN_TOKEN is empty)';
const CLIENT_IN_CONFIG = '`device_client_in_config`: the client is registered in PAIRGATE_DEVICE_CLIENTS, which only the configuration changes';

/** The documented errors of the OAuth endpoints (`/oauth/...`), in OAuth's shape. */
export const OAuthErrors = {
  authorization400: oauthErrorView(`${OAUTH_MALFORMED}, ${OAUTH_CLIENT_DIFFERS}; \`invalid_scope\`: a scope token malformed, more of them than allowed, or one the client may not ask for.`),
  authorization401: oauthErrorView(`${OAUTH_NO_CLIENT}, or a client_id no one registered; ${BASIC_CHALLENGE}.`),
  authorization429: oauthErrorView('`rate_limited`: too many device authorizations from this network this minute (PAIRGATE_DEVICE_AUTHORIZATIONS_PER_MINUTE), or too many waiting on the server (PAIRGATE_DEVICE_MAX_PENDING), or from this network (`pairgate_error` `too_many_pending`; PAIRGATE_DEVICE_MAX_PENDING_PER_IP); `Retry-After` says when to try again.'),
  token400: oauthErrorView(
    '`authorization_pending`: the person has not decided yet, poll again after the interval; ' +
    `\`slow_down\`: polled sooner than the interval, which grows by ${SLOW_DOWN_STEP_SECONDS} s (the new one in \`interval\`); ` +
    '`access_denied`: the person refused, or their account is gone; ' +
    '`expired_token`: the device code expired, start a new authorization; ' +
    '`invalid_grant`: the device code or refresh token is unknown, already used (a refresh token used twice ends its whole family), or issued to another client or to an earlier registration of this one; a refresh token expired, or its account gone; or the user code sent instead of the device code; ' +
    '`invalid_scope`: the client may no longer ask for the scope granted, or a refresh asks for a scope not granted; ' +
    '`unsupported_grant_type`: neither the device code grant nor, where refresh tokens are issued, `refresh_token`; ' +
    `${OAUTH_MALFORMED}, device_code or refresh_token missing, ${OAUTH_CLIENT_DIFFERS}.`,
  ),
  token401: oauthErrorView(`${OAUTH_NO_CLIENT}, or a client_id no one registered (also one deleted since the device code was issued); ${BASIC_CHALLENGE}.`),
  token429: oauthErrorView('`rate_limited`: too many token requests from this network this minute (PAIRGATE_DEVICE_TOKEN_REQUESTS_PER_MINUTE); `Retry-After` says when to try again.'),
  introspect400: oauthErrorView(`${OAUTH_MALFORMED}.`),
  introspect401: oauthErrorView(`${INTROSPECTION_REFUSED} \`WWW-Authenticate: Bearer\` comes with it.`),
  revoke400: oauthErrorView(`\`unauthorized_client\`: the token was issued to another client; ${OAUTH_MALFORMED}, token missing, ${OAUTH_CLIENT_DIFFERS}.`),
  revoke401: oauthErrorView(`${OAUTH_NO_CLIENT}, or a client_id no one registered, unless the token was issued to it (an access-door app token names its app id); ${BASIC_CHALLENGE}.`),
};

/** The documented errors of the device client admin API (`/api/v1/device/clients`), in pairgate's shape. */
export const ClientAdminErrors = {
  read400: errorView(`${ADMIN_VALIDATION}.`),
  put400: errorView(`\`validation_failed\`: the client_id in the path, the name or a scope breaks its rule, a field is missing or unknown, or more scopes than allowed (the message says which, in words); ${BODY_UNREADABLE}.`),
  delete400: errorView(`${ADMIN_VALIDATION}; ${BODY_UNREADABLE}.`),
  unauthorized: errorView('`device_admin_unauthorized`: PAIRGATE_DEVICE_ADMIN_TOKEN not presented as `Authorization: Bearer <token>`, or another token (`WWW-Authenticate: Bearer`).'),
  disabled404: errorView(`${ADMIN_DISABLED}.`),
  client404: errorView(`\`device_client_not_found\`: no client has this client_id; ${ADMIN_DISABLED}.`),
  limited: errorView('`rate_limited`: too many admin requests from this network this minute, or too many wrong admin tokens from it this hour (then even the right one is refused until the hour is over); `Retry-After` says when to try again.'),
  put409: errorView(`${CLIENT_IN_CONFIG}; \`device_client_busy\`: the client kept being deleted and registered again meanwhile, try again.`),
  delete409: errorView(`${CLIENT_IN_CONFIG}.`),
};

const SIGN_IN = '`sign_in_required`: no valid session cookie; sign in first.';

/** The documented errors of the connected devices API (`/api/v1/device/tokens`), in pairgate's shape. */
export const DeviceTokenErrors = {
  unauthorized: errorView(SIGN_IN),
  crossSite: errorView('`csrf_failed`: the browser says the request came from another site (Sec-Fetch-Site or Origin).'),
  notFound: errorView('`device_not_found`: none of your connected devices has this id (already disconnected, or never yours).'),
};
