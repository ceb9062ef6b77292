import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { UnauthorizedError } from '../../core/errors.js';
import { apiMeta, type AccessEnv } from './access-env.js';
import { CORS_OPEN, openToWebApps, TOKEN_CALL } from './web-app-cors.js';

/** The token of a request: `Authorization: <token>` or `Bearer <token>` (Pryv sends it raw), or `?auth=`. */
export function tokenOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === 'string' && header.trim()) return header.trim().replace(/^Bearer\s+/i, '');
  const query = (request.query ?? {}) as Record<string, unknown>;
  return typeof query.auth === 'string' && query.auth ? query.auth : undefined;
}

const invalidToken = (): UnauthorizedError => new UnauthorizedError('The access token is missing, invalid, expired or revoked: send a live app token of this user in the Authorization header (raw or "Bearer <token>").', 'invalid-access-token');

/**
 * A 401's challenge (RFC 6750 §3): `Bearer` with the realm, plus `error="invalid_token"` when a
 * token was presented, so a generic HTTP client tells "no credentials" from "wrong credentials".
 * The `pryv` library reads the body only.
 */
function bearerChallenge(request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (error: null, payload: unknown) => void): void {
  if (reply.statusCode === 401) reply.header('www-authenticate', tokenOf(request) ? 'Bearer realm="pairgate", error="invalid_token"' : 'Bearer realm="pairgate"');
  done(null, payload);
}

const AccessInfoView = Type.Object(
  {
    type: Type.Literal('app'),
    name: Type.String({ description: 'The app id.' }),
    permissions: Type.Array(Type.Object({}, { additionalProperties: true })),
    user: Type.Object({ username: Type.String() }),
    expires: Type.Union([Type.Number(), Type.Null()], { description: 'Seconds since the epoch, or null.' }),
    meta: Type.Object({}, { additionalProperties: true }),
  },
  { additionalProperties: true, description: 'What the token opens: the app (`name`), its permissions, the user, and when the access ends (`expires`).' },
);

/**
 * Pryv's code is `invalid-access-token`, with hyphens; the challenge's RFC 6750 code is named too,
 * for the clients that read the header rather than the body.
 */
const InvalidTokenView = Type.Object(
  { error: Type.Object({ id: Type.String(), message: Type.String() }), meta: Type.Object({}, { additionalProperties: true }) },
  { description: '`error.id` `invalid-access-token`: the token is missing, unknown, revoked, expired or another user\'s (which one is not said); `WWW-Authenticate: Bearer` carries `error="invalid_token"` (RFC 6750 `invalid_token`) when a token was sent.' },
);

/**
 * `GET /<username>/access-info`: what a token opens, for resource servers and the `pryv` library's
 * `Connection.accessInfo()`. 401 (Pryv's `invalid-access-token`) for an unknown, revoked or
 * expired token, or one of another user, without saying which, with a Bearer challenge. Open to
 * web apps' pages (CORS, `Authorization` allowed): the library calls it from the app's origin.
 */
export function installAccessInfoRoute(app: FastifyInstance, env: AccessEnv): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.get('/:username/access-info', {
    schema: {
      tags: ['access'],
      summary: 'What an app token opens (Pryv access-info). Token in Authorization (raw or Bearer).',
      description: CORS_OPEN,
      params: Type.Object({ username: Type.String({ maxLength: 60 }) }),
      querystring: Type.Object({ auth: Type.Optional(Type.String({ maxLength: 200 })) }),
      response: { 200: AccessInfoView, 401: InvalidTokenView },
    },
    // The pryv library's Connection reads it from the app's page, the token in Authorization.
    onRequest: openToWebApps(app, ['/:username/access-info'], TOKEN_CALL),
    onSend: bearerChallenge,
  }, async (request) => {
    const token = tokenOf(request);
    const now = env.ctx.clock.now();
    const found = token ? await env.accesses.findByToken(token, now) : undefined;
    if (!found || found.username !== request.params.username.toLowerCase()) throw invalidToken();
    const { access } = found;
    return {
      id: access.id,
      type: 'app' as const,
      name: access.appId,
      deviceName: access.deviceName,
      permissions: access.permissions as never,
      user: { username: found.username },
      created: access.createdAt / 1000,
      modified: access.updatedAt / 1000,
      expires: access.expiresAt === null ? null : access.expiresAt / 1000,
      meta: apiMeta(now),
    };
  });
}
