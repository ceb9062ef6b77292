import { Type } from 'typebox';
import { BEARER_SECRET_MIN_LENGTH } from '../../server/bearer-secret.js';

/** Configuration of the access door (Pryv-compatible auth requests). */
export const accessConfigSchema = Type.Object({
  PAIRGATE_ACCESS_ENABLED: Type.Boolean({ default: true, description: 'Serve the access door (/access, /service/info, the auth and consent pages).' }),
  PAIRGATE_ACCESS_SERVICE_NAME: Type.String({ minLength: 1, default: 'pairgate', description: 'The `name` of the service info document.' }),
  PAIRGATE_ACCESS_HOME_URL: Type.String({ default: '', description: 'The `home` of the service info; default: the public URL.' }),
  PAIRGATE_ACCESS_SUPPORT_URL: Type.String({ default: '', description: 'The `support` of the service info.' }),
  PAIRGATE_ACCESS_TERMS_URL: Type.String({ default: '', description: 'The `terms` of the service info.' }),
  PAIRGATE_ACCESS_TTL_SECONDS: Type.Integer({ minimum: 30, maximum: 86400, default: 3600, description: 'How long an auth request waits for the user.' }),
  PAIRGATE_ACCESS_DECIDED_TTL_SECONDS: Type.Integer({ minimum: 5, maximum: 3600, default: 120, description: 'How long a decided request stays readable after its first read.' }),
  PAIRGATE_ACCESS_POLL_RATE_MS: Type.Integer({ minimum: 100, maximum: 60000, default: 1000, description: 'poll_rate_ms suggested to polling clients.' }),
  PAIRGATE_ACCESS_CREATE_PER_MINUTE: Type.Integer({ minimum: 1, default: 60, description: 'Auth requests per client IP per minute.' }),
  PAIRGATE_ACCESS_MAX_PENDING: Type.Integer({ minimum: 1, default: 10000, description: 'Auth requests alive at once, answered or not (each until it expires); beyond it new ones get 429 (keys are 128-bit, so this bounds storage, not guessing).' }),
  PAIRGATE_ACCESS_MAX_PENDING_PER_IP: Type.Integer({ minimum: 1, default: 100, description: 'Auth requests one client IP may have waiting at once (counted until each would expire, decided or not); beyond it 429 too_many_pending. Raise it for an app that starts requests from its own server for many users.' }),
  PAIRGATE_ACCESS_TRUSTED_AUTH_URLS: Type.String({ default: '', description: 'Comma-separated http(s) URLs (no query or fragment) under which an auth request may name its `authUrl`: same origin, and a path equal to or under the trusted path on a segment boundary; pairgate\'s own auth page is always trusted.' }),
  PAIRGATE_ACCESS_RETURN_ORIGINS: Type.String({ default: '', description: 'JSON object app id -> list of allowed returnURL origins, e.g. {"my-app-id":["https://app.example"]}; apps not listed may return to any http(s) URL.' }),
  PAIRGATE_ACCESS_API_TEMPLATE: Type.String({ default: '', description: 'The user API URL with {username}, e.g. https://{username}.example.com/; default: <public URL>/{username}/. The token goes in the user part.' }),
  PAIRGATE_ACCESS_MAX_PER_USER: Type.Integer({ minimum: 1, default: 200, description: 'App accesses one user may hold; beyond it an accept ends in ERROR.' }),
  PAIRGATE_ACCESS_INTROSPECTION_SECRET: Type.String({ default: '', description: `Bearer secret resource servers present to /access/introspect (RFC 7662) as "Authorization: Bearer <secret>", at least ${BEARER_SECRET_MIN_LENGTH} characters, e.g. \`openssl rand -base64 32\`; a missing or wrong one is 401 introspection_unauthorized. Empty (the default) = introspection is closed: every call is 401 (introspection_not_configured).` }),
});
