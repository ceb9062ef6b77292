import { BEARER_SECRET } from '../../server/openapi-security.js';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { requireIntrospectionSecret } from '../shared/introspection-auth.js';
import type { AccessEnv } from './access-env.js';
import { AccessErrors } from './access-responses.js';
import type { AppAccesses } from './app-accesses.js';
import { permissionsScope } from './permissions.js';

const IntrospectionBody = Type.Object(
  { token: Type.String({ maxLength: 500 }), token_type_hint: Type.Optional(Type.String({ maxLength: 50 })) },
  { additionalProperties: true },
);

/** The RFC 7662 answer about an app token (also served by the device door's /oauth/introspect). */
const IntrospectionFields = {
    active: Type.Boolean(),
    scope: Type.Optional(Type.String()),
    client_id: Type.Optional(Type.String()),
    username: Type.Optional(Type.String()),
    sub: Type.Optional(Type.String()),
    token_type: Type.Optional(Type.String()),
    iat: Type.Optional(Type.Integer()),
    exp: Type.Optional(Type.Integer()),
    permissions: Type.Optional(Type.Array(Type.Object({}, { additionalProperties: true }))),
};
export const IntrospectionView = Type.Object(IntrospectionFields, { additionalProperties: false });

/** `IntrospectionView` as one introspection endpoint answers it, described as `description`. */
export function introspectionView(description: string) {
  return Type.Object(IntrospectionFields, { additionalProperties: false, description });
}

/**
 * The RFC 7662 answer about app token `token`: `{active: false}` and nothing more for an unknown,
 * revoked or expired one. Shared with the device door, whose introspection covers both doors' tokens.
 */
export async function introspectAppToken(accesses: AppAccesses, token: string, now: number): Promise<Static<typeof IntrospectionView>> {
  const found = await accesses.findByToken(token, now);
  if (!found) return { active: false };
  const { access } = found;
  return {
    active: true,
    scope: permissionsScope(access.permissions),
    client_id: access.appId,
    username: found.username,
    // The account's id, never reused (see the device door's introspection).
    sub: access.userId,
    token_type: 'Bearer',
    iat: Math.floor(found.tokenCreatedAt / 1000),
    ...(access.expiresAt !== null ? { exp: Math.floor(access.expiresAt / 1000) } : {}),
    permissions: access.permissions as never,
  };
}

/**
 * `POST /access/introspect`: RFC 7662 token introspection of app tokens, for resource servers.
 * Callers present PAIRGATE_ACCESS_INTROSPECTION_SECRET as a Bearer token; while it is unset the
 * endpoint is closed (401 `introspection_not_configured`), as RFC 7662 §2.1 requires callers to be
 * authorized. An unknown, revoked or expired token is `{active: false}` and nothing more, as the RFC asks.
 */
export function installIntrospectionRoute(app: FastifyInstance, env: AccessEnv): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.post('/access/introspect', {
    schema: {
      tags: ['access'],
      security: BEARER_SECRET,
      summary: 'RFC 7662 introspection of an app token (form or JSON body with `token`).',
      body: IntrospectionBody,
      response: { 200: introspectionView('What the app token opens (RFC 7662 §2.2), its `permissions` among it; `{"active": false}` alone for an unknown, expired or revoked one.'), 401: AccessErrors.introspect401 },
    },
    config: { rateLimit: { max: 600, timeWindow: 60_000 } },
    // After the rate limit (an onRequest hook) and before the body is validated: a caller without
    // the secret is counted, and learns nothing, not even what a valid body looks like.
    preValidation: async (request, reply) => requireIntrospectionSecret(request, reply, env.cfg.PAIRGATE_ACCESS_INTROSPECTION_SECRET, 'PAIRGATE_ACCESS_INTROSPECTION_SECRET'),
  }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    return introspectAppToken(env.accesses, request.body.token, env.ctx.clock.now());
  });
}
