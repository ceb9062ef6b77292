import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { hashToken } from '../../core/ids.js';
import { basicChallenge, clientIdOf } from './client-auth.js';
import { MAX_SCOPE_PARAMETER_LENGTH } from './client-rules.js';
import { grantedScope } from './clients.js';
import { DEVICE_KIND, deviceCodeOf, USER_CODE_FORMAT, type DeviceRequest } from './device-grant.js';
import { noStore, type DeviceEnv } from './device-env.js';
import { OAUTH_BODY_TYPES, readOAuthParameters } from './oauth-body.js';
import { OAuthErrors } from './device-responses.js';
import { OAuthError } from './oauth-errors.js';
import { crowdedNetworkRefusal } from './pending-per-network.js';
import { crowdedCapacity } from '../shared/crowded-share.js';

/** The body of a device authorization request (RFC 8628 §3.1); unknown fields are ignored. */
const DeviceAuthorizationBody = Type.Object(
  {
    client_id: Type.Optional(Type.String({ maxLength: 200 })),
    scope: Type.Optional(Type.String({ maxLength: MAX_SCOPE_PARAMETER_LENGTH })),
  },
  { additionalProperties: true },
);

/** The device authorization response (RFC 8628 §3.2). */
const DeviceAuthorizationView = Type.Object({
  device_code: Type.String(),
  user_code: Type.String(),
  verification_uri: Type.String(),
  verification_uri_complete: Type.String(),
  expires_in: Type.Integer(),
  interval: Type.Integer(),
}, { description: 'The device authorization (RFC 8628 §3.2): `device_code` for the device to poll the token endpoint with, `user_code` and `verification_uri` (or `verification_uri_complete`) for the person, its lifetime and the polling interval in seconds.' });

/** The ephemeral key that remembers a device code after its grant is gone, to answer expired_token. */
export function issuedKey(deviceCode: string): string {
  return `device:issued:${hashToken(deviceCode)}`;
}

/** How long after expiry an old device code is still told `expired_token` rather than `invalid_grant`. */
export const EXPIRED_MEMORY_MS = 3_600_000;

/**
 * `POST /oauth/device_authorization`: a registered client asks for a device code and a user code.
 * The authorization is a grant of kind `device` with the user code (stored hashed, unique among
 * live ones) and a 256-bit secret that forms the device code with the grant id. Where the request
 * came from (address, user agent, time) is kept to be shown on the consent screen.
 */
export function installAuthorizationRoute(app: FastifyInstance, env: DeviceEnv): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const { ctx, cfg } = env;
  // Counted and logged: the client's 429 reads like any rate limit's, and told the operator nothing.
  const capacityFull = app.pairgate.metrics.capacityRefusal(DEVICE_KIND, {
    setting: 'PAIRGATE_DEVICE_MAX_PENDING',
    value: cfg.PAIRGATE_DEVICE_MAX_PENDING,
    advice: 'If this is real use, raise it (the start-up check may then ask for a stronger code) or lower PAIRGATE_DEVICE_EXPIRES_IN_SECONDS; if not, a few networks are holding the places: lower PAIRGATE_DEVICE_MAX_PENDING_PER_IP.',
  }, ctx.logger, ctx.clock);
  const serverFull = (): OAuthError => {
    capacityFull();
    return new OAuthError('rate_limited', 'Too many device authorizations are waiting. Try again shortly.', 429, { retryAfterSeconds: 30 });
  };
  api.post('/oauth/device_authorization', {
    schema: {
      tags: ['device'],
      consumes: OAUTH_BODY_TYPES,
      summary: 'Device authorization request (RFC 8628 §3.1): form with client_id and scope.',
      body: DeviceAuthorizationBody,
      response: { 200: DeviceAuthorizationView, 400: OAuthErrors.authorization400, 401: OAuthErrors.authorization401, 429: OAuthErrors.authorization429 },
    },
    config: { rateLimit: { max: cfg.PAIRGATE_DEVICE_AUTHORIZATIONS_PER_MINUTE, timeWindow: 60_000 } },
    preValidation: async (request) => readOAuthParameters(request.body),
    onSend: [basicChallenge, noStore],
  }, async (request, reply) => {
    const client = await env.clients.require(clientIdOf(request, request.body.client_id));
    const scope = grantedScope(client, request.body.scope);
    const now = ctx.clock.now();
    const userAgent = request.headers['user-agent'];
    const deviceRequest: DeviceRequest = {
      clientId: client.id,
      clientName: client.name,
      ...(client.registration !== undefined ? { clientRegistration: client.registration } : {}),
      scope,
      ip: request.ip,
      userAgent: typeof userAgent === 'string' ? userAgent.slice(0, 300) : '',
      requestedAt: now,
    };
    const ttlMs = cfg.PAIRGATE_DEVICE_EXPIRES_IN_SECONDS * 1000;
    // The network's share first, so that no few addresses hold every waiting authorization.
    const place = await env.pendingPerNetwork.take(request.clientNetwork, ttlMs, now);
    if (place.slot) deviceRequest.place = place.slot;
    const { max, crowded } = crowdedCapacity(place.held, cfg.PAIRGATE_DEVICE_MAX_PENDING);
    let created;
    try {
      created = await ctx.engine.create<DeviceRequest>({ kind: DEVICE_KIND, request: deviceRequest, ttlMs, codeFormat: USER_CODE_FORMAT, withSecret: true,
        capacity: { max, of: 'pending', refuse: () => (crowded ? crowdedNetworkRefusal(place) : serverFull()) },
      });
    } catch (error) {
      await place.release();
      throw error;
    }
    const { grant, code, secret } = created;
    const deviceCode = deviceCodeOf(grant.id, secret!);
    await ctx.stores.ephemeral.set(issuedKey(deviceCode), client.id, ttlMs + EXPIRED_MEMORY_MS, now);
    const userCode = USER_CODE_FORMAT.format(code!);
    const verificationUri = `${ctx.publicUrl()}/device`;
    return reply.send({
      device_code: deviceCode,
      user_code: userCode,
      verification_uri: verificationUri,
      verification_uri_complete: `${verificationUri}?user_code=${encodeURIComponent(userCode)}`,
      expires_in: cfg.PAIRGATE_DEVICE_EXPIRES_IN_SECONDS,
      interval: cfg.PAIRGATE_DEVICE_INTERVAL_SECONDS,
    });
  });
}
