import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { basicChallenge, clientIdOf } from './client-auth.js';
import { noStore, type DeviceEnv } from './device-env.js';
import { OAuthErrors } from './device-responses.js';
import { OAUTH_BODY_TYPES, readOAuthParameters } from './oauth-body.js';
import { unknownClient } from './clients.js';
import { OAuthError } from './oauth-errors.js';

const RevocationBody = Type.Object(
  {
    token: Type.String({ maxLength: 500 }),
    token_type_hint: Type.Optional(Type.String({ maxLength: 50 })),
    client_id: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: true },
);

const notYours = (): OAuthError => new OAuthError('unauthorized_client', 'This token was not issued to this client.');

/**
 * The answer's body: RFC 7009 §2.2 asks for 200 and says clients ignore the body; an empty JSON
 * object (not an empty body, not `null`) also keeps working the clients that parse every answer.
 */
const Revoked = Type.Object({}, { additionalProperties: false, description: 'Revoked, or nothing to revoke (RFC 7009 §2.2): an empty object, which clients ignore.' });

/**
 * `POST /oauth/revoke` (RFC 7009): a client withdraws one of its tokens: an access token of the
 * device door or of the access door (whose client is the app id), which ends that token alone, or a
 * refresh token of the device door, which ends its whole family (RFC 7009 §2.1: the access tokens
 * it begot go too, and so does the device's connection). The token must have been issued to the
 * client naming itself (else 400 `unauthorized_client`, or 401 `invalid_client` for a device token
 * and a client_id no one registered); an unknown, expired or already revoked token is a 200 like a
 * revoked one, as the RFC asks, whatever client_id it names; the body is `{}`.
 * The hint only decides which kind is looked up first: every kind is looked for (RFC 7009 §2.1
 * allows a wrong hint).
 */
export function installRevocationRoute(app: FastifyInstance, env: DeviceEnv): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.post('/oauth/revoke', {
    schema: {
      tags: ['device'],
      consumes: OAUTH_BODY_TYPES,
      summary: 'RFC 7009 revocation of an access token, or of a refresh token and its whole family (form with `token` and `client_id`).',
      body: RevocationBody,
      response: { 200: Revoked, 400: OAuthErrors.revoke400, 401: OAuthErrors.revoke401 },
    },
    config: { rateLimit: { max: 120, timeWindow: 60_000 } },
    preValidation: async (request) => readOAuthParameters(request.body),
    onSend: [basicChallenge, noStore],
  }, async (request, reply) => {
    const clientId = clientIdOf(request, request.body.client_id);
    const now = env.ctx.clock.now();
    const { token } = request.body;
    // A device token presented by another client: a client_id no one registered is told so (401,
    // as when the token is unknown), not that the token is someone else's, which sent a client
    // with a mistyped client_id hunting for a token problem. (An app id of the access door is no
    // registered client, so an app token keeps the plain refusal.)
    const refuseDeviceToken = async (): Promise<OAuthError> => ((await env.clients.find(clientId)) ? notYours() : unknownClient());
    const revokeRefresh = async (): Promise<boolean> => {
      // Used or expired, still its family's: the client wants the device cut off, and the family may
      // hold live tokens (a newer refresh token, or an access token that outlives this one).
      const refresh = await env.tokens.refresh.find(token);
      if (!refresh) return false;
      if (refresh.clientId !== clientId) throw await refuseDeviceToken();
      await env.tokens.revokeFamily(refresh.family);
      return true;
    };
    if (request.body.token_type_hint === 'refresh_token' && (await revokeRefresh())) return reply.code(200).send({});
    const deviceToken = await env.tokens.find(token, now);
    if (deviceToken) {
      if (deviceToken.clientId !== clientId) throw await refuseDeviceToken();
      await env.tokens.revoke(token);
      return reply.code(200).send({});
    }
    if (request.body.token_type_hint !== 'refresh_token' && (await revokeRefresh())) return reply.code(200).send({});
    const appToken = await env.appAccesses.findByToken(token, now);
    if (appToken) {
      if (appToken.access.appId !== clientId) throw notYours();
      await env.appAccesses.dropToken(token);
      return reply.code(200).send({});
    }
    // Unknown, expired or already revoked: 200 whatever client_id names (RFC 7009 §2.2). It was a
    // 401 for a client_id no one registered, which is every app id of the access door: an app that
    // logged out twice, or after its token expired, was told its client_id was wrong. These clients
    // are public, so the 401 proved nothing; the typo is still told where the token is live (above).
    return reply.code(200).send({});
  });
}
