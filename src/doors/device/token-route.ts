import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { isPairgateError } from '../../core/errors.js';
import { accountsOf } from '../accounts/accounts.js';
import { preferWaitHeaders } from '../shared/wait-schemas.js';
import { preferredWaitSeconds, waitForGrant } from '../shared/waiting.js';
import { issuedKey } from './authorization-route.js';
import { basicChallenge, clientIdOf } from './client-auth.js';
import { MAX_SCOPE_PARAMETER_LENGTH } from './client-rules.js';
import { assertScopeStillAllowed, scopeWithdrawnError, scopesWithdrawn, unknownClient, type DeviceClient } from './clients.js';
import { DEVICE_GRANT_TYPE, DEVICE_KIND, parseDeviceCode, USER_CODE_FORMAT, type DeviceGrant, type DeviceRequest, type DeviceResult } from './device-grant.js';
import { noStore, type DeviceEnv } from './device-env.js';
import { OAuthErrors } from './device-responses.js';
import { OAuthError } from './oauth-errors.js';
import { OAUTH_BODY_TYPES, readOAuthParameters } from './oauth-body.js';
import { issueFamilyTokens, REFRESH_GRANT_TYPE, refreshTokens, type TokenAnswer } from './refresh-grant.js';

/**
 * The usual slip of a client's developer: polling with the short code the person types. It is
 * told apart (a device code, `<id>.<secret>`, never parses as a user code) and named.
 */
const USER_CODE_SENT = 'This is the user code, which the person types on the verification page: send device_code, the long code of the device authorization answer.';

/** The body of a token request: the device grant, or a refresh. */
const TokenBody = Type.Object(
  {
    grant_type: Type.String({ maxLength: 200 }),
    device_code: Type.Optional(Type.String({ maxLength: 500 })),
    refresh_token: Type.Optional(Type.String({ maxLength: 500 })),
    scope: Type.Optional(Type.String({ maxLength: MAX_SCOPE_PARAMETER_LENGTH })),
    client_id: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: true },
);

/** A successful token answer (RFC 6749 §5.1). */
const TokenView = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  scope: Type.Optional(Type.String({ minLength: 1 })),
  refresh_token: Type.Optional(Type.String()),
}, { description: 'The access token (RFC 6749 §5.1), with a `refresh_token` where this server issues them, and the `scope` it opens unless it opens none.' });

const invalidGrant = (why: string): OAuthError => new OAuthError('invalid_grant', why);
const expired = (): OAuthError => new OAuthError('expired_token', 'The device code has expired: start a new device authorization.');
const pending = (): OAuthError => new OAuthError('authorization_pending', 'The person has not decided yet: keep polling at the interval.');
const denied = (): OAuthError => new OAuthError('access_denied', 'The person denied the authorization request.');
const outlived = (): OAuthError => new OAuthError('access_denied', 'The account\'s password changed after the approval, which ended it: start a new device authorization.');

/**
 * `POST /oauth/token` with `grant_type=urn:ietf:params:oauth:grant-type:device_code` (RFC 8628
 * §3.4, §3.5). The device code is the grant id and secret; the secret is checked in constant time.
 * Approved: the engine's single-use redeem picks exactly one of any number of concurrent callers,
 * which gets a fresh access token (and a refresh token, unless their lifetime is 0). Pending:
 * `authorization_pending`, or `slow_down` for a poll sooner than the interval; with
 * PAIRGATE_DEVICE_LONG_POLL the answer waits for the decision. With `grant_type=refresh_token`: a
 * refresh with rotation (`refresh-grant.ts`), under the same per-network limit.
 */
export function installTokenRoute(app: FastifyInstance, env: DeviceEnv): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const { ctx, cfg } = env;
  const longPollMax = Math.min(cfg.PAIRGATE_DEVICE_LONG_POLL_SECONDS, ctx.config.PAIRGATE_WAIT_MAX_SECONDS);
  // With a refresh token lifetime of 0 the door issues none, and honours none issued before.
  const refreshing = cfg.PAIRGATE_DEVICE_REFRESH_TOKEN_TTL_SECONDS > 0;
  const supported = refreshing ? `${DEVICE_GRANT_TYPE} and grant_type=${REFRESH_GRANT_TYPE} only` : `${DEVICE_GRANT_TYPE} only`;

  /**
   * Seconds to hold a pending request: none unless enabled; a client may ask for less with `Prefer:
   * wait=`, and is then told what was applied (`preferredWaitSeconds`).
   */
  const holdSeconds = (request: FastifyRequest, reply: FastifyReply): number => {
    if (!cfg.PAIRGATE_DEVICE_LONG_POLL) return 0;
    return preferredWaitSeconds(request, reply, longPollMax) ?? longPollMax;
  };

  /** Redeems an approved grant and issues the token; losers of the race learn the code is spent. */
  const issue = async (grant: DeviceGrant) => {
    let redeemed: DeviceGrant;
    try {
      redeemed = await ctx.engine.redeem<DeviceRequest, DeviceResult>(grant.id);
    } catch (error) {
      if (isPairgateError(error) && (error.code === 'grant_expired' || error.code === 'grant_not_found')) throw expired();
      if (isPairgateError(error) && error.status === 409) throw invalidGrant('The device code has already been used.');
      throw error;
    }
    const result = redeemed.result;
    if (result?.status !== 'approved') throw denied();
    const now = ctx.clock.now();
    let answer: TokenAnswer;
    try {
      // The device authorization starts a family: its id names every token that descends from it.
      const { request } = redeemed;
      answer = await issueFamilyTokens(env, { family: redeemed.id, clientId: request.clientId, registration: request.clientRegistration, userId: result.userId, grantedScope: request.scope, accessScope: request.scope, connectedAt: now }, now);
    } catch (error) {
      // The account that approved was deleted in between (the token's foreign key refuses it).
      if (!(await env.tokens.userExists(result.userId))) throw denied();
      throw error;
    }
    await endIfPasswordOutlived(redeemed.id, result);
    return answer;
  };

  /**
   * Revokes the family just issued, and tells the device so, when the account's password changed
   * since the approval (a reset, or a change that disconnects devices: whoever approved may have
   * known only the old one). Read after the tokens are written, and on PostgreSQL once a change
   * under way has committed (`passwordStampOf`'s `settled`): a change either deleted them or is
   * seen here. An approval without a stamp (made by an earlier version) is taken as it is.
   */
  const endIfPasswordOutlived = async (family: string, result: Extract<DeviceResult, { status: 'approved' }>): Promise<void> => {
    if (result.passwordStamp === undefined) return;
    if ((await accountsOf({ server: app }).parts.users.passwordStampOf(result.userId, true)) === result.passwordStamp) return;
    await env.tokens.revokeFamily(family);
    throw outlived();
  };

  /**
   * Ends pending `grant` when its client may no longer ask for a scope of it (narrowed through the
   * admin API since the device asked), and tells the device `invalid_scope`. That answer ends a
   * device's polling (RFC 8628 §3.5: only authorization_pending and slow_down go on), so an approval
   * given after it would reach no one, and the authorization went on holding one of the server's
   * waiting places, and its network's, until it expired. Refused as `withdrawn`, it leaves the
   * first; its network's place is given back; its page and the device's later polls still say why.
   */
  const withdrawIfLost = async (grant: DeviceGrant, client: Pick<DeviceClient, 'scopes'>): Promise<void> => {
    const dropped = scopesWithdrawn(client, grant.request.scope);
    if (dropped.length === 0) return;
    await endPending(grant, { status: 'withdrawn', scopes: dropped });
    throw scopeWithdrawnError(dropped);
  };

  /**
   * Ends pending `grant` as the server's refusal `result`, and gives back its network's place.
   * Decided, ended or gone meanwhile (the person's click, another poll at the same moment): nothing;
   * the next poll reads that state, and this one is told what its caller tells it all the same.
   */
  const endPending = async (grant: DeviceGrant, result: DeviceResult): Promise<void> => {
    try {
      await ctx.engine.refuse<DeviceResult, DeviceRequest>(grant.id, result);
      await env.pendingPerNetwork.giveBack(grant.request.place, ctx.clock.now());
    } catch (error) {
      if (!isPairgateError(error) || ![404, 409, 410].includes(error.status)) throw error;
    }
  };

  /**
   * Ends pending `grant` (found with its device code's secret) when the client's
   * registration it was made under is gone (deleted through the admin API, perhaps registered again
   * since), before its device is told `invalid_client` or `invalid_grant`. Either answer ends the
   * device's polling and no token can ever come of it, yet it went on holding one of the server's
   * waiting places (PAIRGATE_DEVICE_MAX_PENDING), and its network's, until it expired. Ended here,
   * by the first poll after the deletion, rather than by the deletion: the grant stores cannot list
   * a client's authorizations, and a device polls every few seconds. One whose device stopped
   * polling before the deletion still counts until it expires (PAIRGATE_DEVICE_EXPIRES_IN_SECONDS).
   */
  const endIfClientGone = async (grant: DeviceGrant | undefined): Promise<void> => {
    if (!grant || ctx.engine.stateOf(grant) !== 'pending') return;
    if (await env.clients.isCurrent(grant.request.clientId, grant.request.clientRegistration)) return;
    await endPending(grant, { status: 'client_gone' });
  };

  /** The answer for `grant` as it is now (never for a pending one). */
  const settle = async (grant: DeviceGrant, client: Pick<DeviceClient, 'scopes'>) => {
    const state = ctx.engine.stateOf(grant);
    if (state === 'approved') {
      // Checked here, not before the state: a person's refusal, a spent or an expired code is said
      // as such whatever the admin changed since (a denied device was told invalid_scope).
      assertScopeStillAllowed(client, grant.request.scope);
      return issue(grant);
    }
    if (state === 'refused') throw grant.result?.status === 'withdrawn' ? scopeWithdrawnError(grant.result.scopes) : denied();
    if (state === 'redeemed') throw invalidGrant('The device code has already been used.');
    throw expired();
  };

  api.post('/oauth/token', {
    schema: {
      tags: ['device'],
      consumes: OAUTH_BODY_TYPES,
      summary: 'Token request with the device code (RFC 8628 §3.4) or a refresh token (RFC 6749 §6, rotated); errors as RFC 8628 §3.5.',
      body: TokenBody,
      // Read only where this server holds pending requests; elsewhere the header means nothing here.
      ...(cfg.PAIRGATE_DEVICE_LONG_POLL ? { headers: preferWaitHeaders(`hold a pending request at most S seconds rather than this server's ${longPollMax}`) } : {}),
      response: { 200: TokenView, 400: OAuthErrors.token400, 401: OAuthErrors.token401, 429: OAuthErrors.token429 },
    },
    // A limit of its own, per client network (the global key generator): slow_down paces each device
    // code, but nothing paced requests with unknown, spent or garbage codes, each a store read, short
    // of the much larger global limit. Not per client_id across networks: client_ids are public, so
    // anyone could spend a client's quota and lock out every one of its devices.
    config: { rateLimit: { max: cfg.PAIRGATE_DEVICE_TOKEN_REQUESTS_PER_MINUTE, timeWindow: 60_000 }, sharedAnswersAlso: { 503: '`grant_busy`: the device code changed while it was being redeemed (another request at the same moment); try again.' } },
    preValidation: async (request) => readOAuthParameters(request.body),
    onSend: [basicChallenge, noStore],
  }, async (request, reply) => {
    const body = request.body;
    if (body.grant_type === REFRESH_GRANT_TYPE && refreshing) {
      const client = await env.clients.require(clientIdOf(request, body.client_id));
      return refreshTokens(env, client, body.refresh_token, body.scope);
    }
    if (body.grant_type !== DEVICE_GRANT_TYPE) throw new OAuthError('unsupported_grant_type', `This server issues tokens for grant_type=${supported}.`);
    const client = await env.clients.find(clientIdOf(request, body.client_id));
    if (!client) {
      const parsed = body.device_code ? parseDeviceCode(body.device_code) : undefined;
      await endIfClientGone(parsed && await ctx.engine.findWithSecret<DeviceRequest, DeviceResult>(DEVICE_KIND, parsed.id, parsed.secret));
      throw unknownClient();
    }
    if (!body.device_code) throw new OAuthError('invalid_request', 'device_code is required.');
    const parsed = parseDeviceCode(body.device_code);
    if (!parsed) throw invalidGrant(USER_CODE_FORMAT.parse(body.device_code).ok ? USER_CODE_SENT : 'Unknown device code.');
    let grant = await ctx.engine.findWithSecret<DeviceRequest, DeviceResult>(DEVICE_KIND, parsed.id, parsed.secret);
    if (!grant) {
      // Gone from the store: a code this server issued (to this client) has expired; any other is unknown.
      const issuedTo = await ctx.stores.ephemeral.get(issuedKey(body.device_code), ctx.clock.now());
      if (issuedTo === client.id) throw expired();
      throw invalidGrant('Unknown device code.');
    }
    // A device code works only for the client it was issued to (RFC 6749 §5.2).
    if (grant.request.clientId !== client.id) throw invalidGrant('This device code was issued to another client.');
    // A client deleted and registered again under the same id is a new client: older codes are not its.
    if (grant.request.clientRegistration !== client.registration) {
      await endIfClientGone(grant);
      throw invalidGrant('This device code was issued to an earlier registration of this client.');
    }
    if (ctx.engine.stateOf(grant) !== 'pending') return settle(grant, client);
    // A pending authorization the client may no longer be granted will never give a token: said at once, and ended.
    await withdrawIfLost(grant, client);
    await env.pacing.check(grant.id, grant.expiresAt);
    const seconds = holdSeconds(request, reply);
    if (seconds > 0) {
      const after = (await waitForGrant<DeviceRequest, DeviceResult>(ctx, request, grant.id, seconds)) as DeviceGrant | undefined;
      if (!after) throw expired();
      grant = after;
      if (ctx.engine.stateOf(grant) !== 'pending') return settle(grant, client);
    }
    throw pending();
  });
}
