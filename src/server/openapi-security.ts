/**
 * The authentication schemes the OpenAPI document at /docs declares, so that its readers (and
 * generated clients) see which routes want credentials and of what kind. A route lists the one it
 * takes in its schema's `security`.
 */
export const SECURITY_SCHEMES = {
  bearerSecret: {
    type: 'http',
    scheme: 'bearer',
    description: 'A secret set in the server configuration (e.g. PAIRGATE_DEVICE_ADMIN_TOKEN), sent as `Authorization: Bearer <secret>`.',
  },
  sessionCookie: {
    type: 'apiKey',
    in: 'cookie',
    name: 'pg_session',
    description: 'The signed-in session of pairgate\'s pages (`__Host-pg_session` when the public URL is https): sign in at /account/signin. A request that changes something also needs the page\'s CSRF token or a same-site Origin.',
  },
  basicAuth: {
    type: 'http',
    scheme: 'basic',
    description: "The supporter's admin credentials (PLEXUS_AUTH_USER / PLEXUS_AUTH_PASS) or a session's own login.",
  },
} as const;

/** `security` of a route taking a configured Bearer secret. */
export const BEARER_SECRET: readonly Record<string, readonly string[]>[] = [{ bearerSecret: [] }];
/** `security` of a route for the signed-in person (the session cookie). */
export const SESSION_COOKIE_AUTH: readonly Record<string, readonly string[]>[] = [{ sessionCookie: [] }];
/** `security` of a route taking Basic credentials. */
export const BASIC_AUTH: readonly Record<string, readonly string[]>[] = [{ basicAuth: [] }];
