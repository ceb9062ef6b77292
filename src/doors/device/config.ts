import { Type } from 'typebox';
import { BEARER_SECRET_MIN_LENGTH } from '../../server/bearer-secret.js';

/** Configuration of the device door (OAuth 2.0 Device Authorization Grant, RFC 8628). */
export const deviceConfigSchema = Type.Object({
  PAIRGATE_DEVICE_ENABLED: Type.Boolean({ default: true, description: 'Serve the device door (RFC 8628: /oauth/device_authorization, /oauth/token, /device and the RFC 8414 metadata). It also needs clients, in PAIRGATE_DEVICE_CLIENTS or registered through the admin API (PAIRGATE_DEVICE_ADMIN_TOKEN).' }),
  PAIRGATE_DEVICE_CLIENTS: Type.String({
    default: '',
    description: 'JSON object of the OAuth clients allowed to use the device grant, client_id -> display name or {"name": "...", "scopes": ["..."]}, e.g. {"tv-app":"Living-room TV","cli":{"name":"pairgate CLI","scopes":["read","write"]}}. They are public clients (no secret). With "scopes", a client may ask for those only (and gets all of them when it asks for none). The admin API lists these but cannot change or delete them.',
  }),
  PAIRGATE_DEVICE_EXPIRES_IN_SECONDS: Type.Integer({ minimum: 60, maximum: 3600, default: 600, description: 'Lifetime of a device code and its user code (expires_in).' }),
  PAIRGATE_DEVICE_INTERVAL_SECONDS: Type.Integer({ minimum: 1, maximum: 60, default: 5, description: 'Seconds a device waits between token polls (interval); faster polls get slow_down and the interval of that request grows by 5 s.' }),
  PAIRGATE_DEVICE_TOKEN_TTL_SECONDS: Type.Integer({ minimum: 60, maximum: 366 * 86400, default: 3600, description: 'Lifetime of an access token issued by the device door (expires_in of the token answer).' }),
  PAIRGATE_DEVICE_REFRESH_TOKEN_TTL_SECONDS: Type.Integer({ minimum: 0, maximum: 366 * 86400, default: 2592000, description: 'Lifetime of a refresh token (RFC 6749 §6) issued with each access token; every refresh rotates it (a new one, valid this long again) and a refresh token presented twice ends the whole connection of that device (RFC 9700 §4.14). 0 = no refresh tokens: devices pair again when their access token expires, and refresh tokens issued before are refused.' }),
  PAIRGATE_DEVICE_LONG_POLL: Type.Boolean({ default: false, description: 'Beyond RFC 8628: hold a token request whose authorization is pending until the person decides (up to PAIRGATE_DEVICE_LONG_POLL_SECONDS), so the device learns of the approval within milliseconds. Off by default, for clients with short HTTP timeouts.' }),
  PAIRGATE_DEVICE_LONG_POLL_SECONDS: Type.Integer({ minimum: 1, maximum: 300, default: 20, description: 'Longest hold of a token request when PAIRGATE_DEVICE_LONG_POLL is on (also bounded by PAIRGATE_WAIT_MAX_SECONDS); a client may ask for less with `Prefer: wait=<s>`.' }),
  PAIRGATE_DEVICE_AUTHORIZATIONS_PER_MINUTE: Type.Integer({ minimum: 1, default: 30, description: 'Device authorization requests per client IP per minute.' }),
  PAIRGATE_DEVICE_TOKEN_REQUESTS_PER_MINUTE: Type.Integer({ minimum: 1, default: 120, description: 'Token requests (/oauth/token) per client network per minute, instead of the global limit. A device polls once per interval (12 a minute at 5 s), slow_down paces each device code; this bounds a flood from one network (429 rate_limited) while leaving room for about ten devices pairing at once behind one address.' }),
  PAIRGATE_DEVICE_MAX_PENDING: Type.Integer({ minimum: 1, default: 1000, description: 'Device authorizations waiting at once (live user codes); beyond it new ones get 429. The brute-force budget is computed with this figure.' }),
  PAIRGATE_DEVICE_MAX_PENDING_PER_IP: Type.Integer({ minimum: 1, default: 50, description: 'Device authorizations one client network (an IPv4 address or an IPv6 /64) may have waiting at once (counted until each would expire, decided or not); beyond it 429 rate_limited (pairgate_error too_many_pending). Without it a few addresses could hold all of PAIRGATE_DEVICE_MAX_PENDING and keep every device from pairing.' }),
  PAIRGATE_DEVICE_CODE_MISSES_PER_SESSION: Type.Integer({ minimum: 1, default: 10, description: 'Wrong user codes one browser session (the signed-in account, else the browser) may type per hour on /device before it is refused; the per-IP budget is PAIRGATE_CODE_MISSES_PER_HOUR.' }),
  PAIRGATE_DEVICE_ADMIN_TOKEN: Type.String({
    default: '',
    description: `Bearer secret (at least ${BEARER_SECRET_MIN_LENGTH} characters, e.g. \`openssl rand -base64 32\`) of the device client admin API, /api/v1/device/clients, which registers clients beside those of PAIRGATE_DEVICE_CLIENTS; empty = the admin API is off (404).`,
  }),
  PAIRGATE_DEVICE_INTROSPECTION_SECRET: Type.String({ default: '', description: `Bearer secret resource servers present to /oauth/introspect (RFC 7662) as "Authorization: Bearer <secret>", at least ${BEARER_SECRET_MIN_LENGTH} characters, e.g. \`openssl rand -base64 32\`; a missing or wrong one is 401 invalid_client. Empty (the default) = introspection is closed: every call is 401 (introspection_not_configured). Device clients cannot introspect with their client_id: they are public.` }),
});
