import { BEARER_SECRET } from '../../server/openapi-security.js';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { introspectAppToken, introspectionView } from '../access/introspection-route.js';
import { requireIntrospectionSecret } from '../shared/introspection-auth.js';
import { noStore, type DeviceEnv } from './device-env.js';
import { OAuthErrors } from './device-responses.js';
import { OAUTH_BODY_TYPES, readOAuthParameters } from './oauth-body.js';

const IntrospectionBody = Type.Object(
  {
    token: Type.String({ maxLength: 500 }),
    token_type_hint: Type.Optional(Type.String({ maxLength: 50 })),
    client_id: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: true },
);

const IntrospectionOfBothDoors = introspectionView('What the token opens (RFC 7662 §2.2), a device-door or an access-door access token (`permissions` for the latter); `{"active": false}` alone for an unknown, expired or revoked token, and for a refresh token.');

/**
 * `POST /oauth/introspect` (RFC 7662): what an access token of the device door, or of the access
 * door, opens. Callers (resource servers) present PAIRGATE_DEVICE_INTROSPECTION_SECRET as a Bearer
 * token; while it is unset the endpoint is closed (401 `invalid_client`, `pairgate_error`
 * `introspection_not_configured`), as RFC 7662 §2.1 requires callers to be authorized. Unknown,
 * revoked and expired tokens are all `{active: false}`, nothing more; so are refresh tokens, which
 * open nothing at a resource server (they are not in the access tables).
 */
export function installIntrospectionRoute(app: FastifyInstance, env: DeviceEnv): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.post('/oauth/introspect', {
    schema: {
      tags: ['device'],
      security: BEARER_SECRET,
      consumes: OAUTH_BODY_TYPES,
      summary: 'RFC 7662 introspection of a device-door or access-door access token (form with `token`).',
      body: IntrospectionBody,
      response: { 200: IntrospectionOfBothDoors, 400: OAuthErrors.introspect400, 401: OAuthErrors.introspect401 },
    },
    config: { rateLimit: { max: 600, timeWindow: 60_000 } },
    // After the rate limit (the server's onRequest hook, which runs before a route's) and before
    // the body is even read: a caller without the secret is counted, has no body parsed for it, and
    // learns nothing, not what a valid body looks like nor which content types are read.
    onRequest: async (request, reply) => {
      requireIntrospectionSecret(request, reply, env.cfg.PAIRGATE_DEVICE_INTROSPECTION_SECRET, 'PAIRGATE_DEVICE_INTROSPECTION_SECRET');
    },
    preValidation: async (request) => readOAuthParameters(request.body),
    onSend: noStore,
  }, async (request) => {
    const now = env.ctx.clock.now();
    const found = await env.tokens.find(request.body.token, now);
    // A token is active only while the client it was issued to is registered as it was then: a
    // deleted client's tokens (also one registered again under the same id) open nothing.
    const token = found && (await env.clients.isCurrent(found.clientId, found.registration)) ? found : undefined;
    if (!token) return introspectAppToken(env.appAccesses, request.body.token, now);
    return {
      active: true,
      // RFC 7662 §2.2: a scope is one token or more; a token that opens none has no "scope".
      ...(token.scope ? { scope: token.scope } : {}),
      client_id: token.clientId,
      username: token.username,
      // The account's id, never reused (RFC 7662 §2.2: the subject's identifier); a username may
      // be taken again once its account is deleted, and a resource server keyed on it would mix them.
      sub: token.userId,
      token_type: 'Bearer',
      iat: Math.floor(token.createdAt / 1000),
      exp: Math.floor(token.expiresAt / 1000),
    };
  });
}
