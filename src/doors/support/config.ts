import { Type } from 'typebox';

/**
 * Configuration of the support door's origin (the supporter's server). The PLEXUS_* names are the
 * seed's, so an existing `plexus.config` file works as `pairgate serve --config plexus.config`.
 */
export const supportConfigSchema = Type.Object({
  PAIRGATE_SUPPORT_ORIGIN: Type.Union([Type.Literal('auto'), Type.Literal('on'), Type.Literal('off')], {
    default: 'auto',
    description: 'Serve the support origin (POST /session, /pairing/:code, the session channel): auto = when PLEXUS_AUTH_USER and PLEXUS_AUTH_PASS are set.',
  }),
  PLEXUS_PAIRING_URL: Type.String({ default: '', description: 'Relay endpoint sessions are published on (e.g. https://relay.example/pairing/); empty = no pairing codes.' }),
  PLEXUS_PAIRING_TTL: Type.Integer({ minimum: 10, maximum: 86400, default: 600, description: 'Seconds a pairing code lives (never longer than its session).' }),
  PLEXUS_COMPANY_NAME: Type.String({ maxLength: 200, default: '', description: 'Company name shown to the person before they confirm.' }),
  PLEXUS_COMPANY_LOGO: Type.String({ maxLength: 2000, default: '', description: 'Public https URL of a logo shown to the person before they confirm.' }),
  PLEXUS_AUTH_USER: Type.String({ default: '', description: 'Basic-auth user allowed to create and manage sessions.' }),
  PLEXUS_AUTH_PASS: Type.String({ default: '', description: 'Basic-auth password of PLEXUS_AUTH_USER.' }),
  PAIRGATE_SUPPORT_DEFAULT_TTL: Type.Integer({ minimum: 10, maximum: 604800, default: 3600, description: 'Session lifetime in seconds when the creator gives no ttl.' }),
  PAIRGATE_SUPPORT_MAX_TTL: Type.Integer({ minimum: 10, maximum: 604800, default: 86400, description: 'Longest session lifetime in seconds a creator may ask for.' }),
  // No fixed default: the number the brute-force budget allows depends on whether the relay is this
  // server's (code-budget.ts, `maxSessions`).
  PAIRGATE_SUPPORT_MAX_SESSIONS: Type.Optional(Type.Integer({ minimum: 1, description: 'Live sessions (and so live pairing codes) at once; creation beyond it is refused. Default: 100 when PLEXUS_PAIRING_URL is this server\'s own relay (or unset), 50 when it is another server, which budgets code guesses apart.' })),
  PAIRGATE_SUPPORT_RELAY_API_KEY: Type.String({ default: '', description: 'API key sent to the relay (Authorization: Bearer) when publishing a session: one of the relay\'s PAIRGATE_RELAY_API_KEYS, when it requires them; empty = none sent.' }),
  PAIRGATE_SUPPORT_RELAY_TIMEOUT_SECONDS: Type.Integer({ minimum: 1, maximum: 60, default: 5, description: 'How long the origin waits for the relay when publishing a session.' }),
  PAIRGATE_SUPPORT_HELLO_SECONDS: Type.Integer({ minimum: 1, maximum: 60, default: 10, description: 'How long a new session-channel socket may take to present its credential.' }),
  PAIRGATE_SUPPORT_CHANNEL_MESSAGES_PER_SECOND: Type.Integer({ minimum: 1, maximum: 10000, default: 20, description: 'Messages a second one session-channel socket may send, after a burst of five seconds\' worth; faster senders are slowed down (the server stops reading them), nothing is dropped.' }),
  PAIRGATE_SUPPORT_PRESENCE_SECONDS: Type.Integer({ minimum: 3, maximum: 300, default: 30, description: 'How long an attached supporter still counts as attached once its node stopped renewing its presence (renewed every third of it): the person is told the supporter left within this time of that node dying.' }),
  PAIRGATE_SUPPORT_MAX_SUPPORTERS: Type.Integer({ minimum: 1, maximum: 1000, default: 8, description: 'Supporter sockets one session may have attached at once, across every node (each is sent the history, every message and the pings); one beyond is closed with code 4429 (too_many_supporters). A node that died holding some frees their places within PAIRGATE_SUPPORT_PRESENCE_SECONDS.' }),
  PAIRGATE_SUPPORT_PING_SECONDS: Type.Integer({ minimum: 1, maximum: 300, default: 30, description: 'How often the server pings each session-channel socket; one that has not answered the previous ping (its peer vanished without closing: a machine asleep, a network changed) is cut off, so the agent can join again and each side is told the other left.' }),
  PAIRGATE_SUPPORT_AUTH_FAILURES_PER_IP: Type.Integer({ minimum: 1, default: 30, description: 'Wrong supporter credentials (admin or a session\'s own login) per client IP per window before that IP is refused (429) for the rest of the window.' }),
  PAIRGATE_SUPPORT_AUTH_FAILURES_PER_SESSION: Type.Integer({ minimum: 1, default: 10, description: 'Wrong credentials tried on one session id per window (whatever the login, whether or not the session exists) before that id is refused (429) for the rest of the window; the admin still gets in.' }),
  PAIRGATE_SUPPORT_AUTH_WINDOW_SECONDS: Type.Integer({ minimum: 1, default: 900, description: 'Window of the supporter credential failure limits in seconds.' }),
});

/** Configuration of the relay (the public pairing directory: short code -> origin pairing URL). */
export const relayConfigSchema = Type.Object({
  PAIRGATE_RELAY_ENABLED: Type.Boolean({ default: true, description: 'Serve the relay (at PAIRGATE_RELAY_PREFIX, or at / with PAIRGATE_RELAY_ONLY).' }),
  PAIRGATE_RELAY_ONLY: Type.Boolean({ default: false, description: 'Serve the relay alone, at / (what `pairgate serve --relay-only` sets).' }),
  PAIRGATE_RELAY_PREFIX: Type.String({ default: '/relay', pattern: '^(/[A-Za-z0-9_-]+)+$', description: 'Path the relay is mounted at when other doors share the server.' }),
  PAIRGATE_RELAY_CODE_TTL: Type.Integer({ minimum: 10, maximum: 86400, default: 600, description: 'Seconds a relay code lives.' }),
  PAIRGATE_RELAY_ALLOW_HTTP: Type.Boolean({ default: false, description: 'Accept plain http:// origin URLs (https only otherwise).' }),
  PAIRGATE_RELAY_ALLOWED_HOSTS: Type.String({ default: '', description: 'Comma-separated hosts origins may use: host (on the https or http default port only) or host:port; empty = any.' }),
  PAIRGATE_RELAY_API_KEYS: Type.String({ default: '', description: 'Comma-separated API keys; when set, publishing needs one (Authorization: Bearer <key> or X-Api-Key).' }),
  PAIRGATE_RELAY_CREATE_MAX: Type.Integer({ minimum: 1, default: 1, description: 'Codes a client IP may create per PAIRGATE_RELAY_CREATE_WINDOW_SECONDS (the original: one per 5 s); a publisher with one of PAIRGATE_RELAY_API_KEYS is not held to it.' }),
  PAIRGATE_RELAY_CREATE_WINDOW_SECONDS: Type.Integer({ minimum: 1, default: 5, description: 'Window of the relay creation rate limit.' }),
  PAIRGATE_RELAY_MAX_LIVE_CODES: Type.Integer({ minimum: 1, default: 100, description: 'Live relay codes at once (the brute-force budget is computed for it); creation beyond it is refused.' }),
  PAIRGATE_RELAY_MAX_LIVE_CODES_PER_IP: Type.Integer({ minimum: 1, default: 10, description: 'Live relay codes one client IP may hold at once, so one address cannot fill the relay (no effect when not below PAIRGATE_RELAY_MAX_LIVE_CODES; a publisher with one of PAIRGATE_RELAY_API_KEYS is not counted).' }),
  PAIRGATE_RELAY_MAX_URL_LENGTH: Type.Integer({ minimum: 32, maximum: 8192, default: 2000, description: 'Longest origin URL accepted.' }),
  PAIRGATE_RELAY_BODY_LIMIT: Type.Integer({ minimum: 256, maximum: 1048576, default: 4096, description: 'Largest publish body in bytes.' }),
});
