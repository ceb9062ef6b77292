import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { CodeFormat } from '../../core/codes.js';
import type { Grant } from '../../core/grant.js';
import { assertWithinBudget } from '../../core/brute-force.js';
import { NotFoundError, RateLimitedError } from '../../core/errors.js';
import { isoTime } from '../../core/iso-time.js';
import { assertBearerSecret } from '../../server/bearer-secret.js';
import { configSection } from '../../server/config.js';
import { reachedAs } from '../../server/config-warnings.js';
import { BEARER_SECRET } from '../../server/openapi-security.js';
import { eventStream } from '../../server/openapi-responses.js';
import { OwnerCapError } from '../../store/ports.js';
import type { Door, DoorContext } from '../door.js';
import { attackerGuessRate } from '../shared/attacker-guess-rate.js';
import { PreferWaitHeaders, WaitQuery } from '../shared/wait-schemas.js';
import { requestedWaitSeconds, streamGrant, waitForGrant, withdrawAppliedWait } from '../shared/waiting.js';
import { grantsConfigSchema } from './config.js';
import { requireCreateToken } from './create-token.js';
import { checkShownFields, checkShownNote, grantValidationError } from './grant-validation.js';
import { grantView, PAIR_KIND, type PairRequest, type PairResult } from './grant-views.js';
import { LiveGrantsPerAddress, tooManyLiveGrants } from './live-per-address.js';
import { decisionRefusal, redeemRefusal } from './refusals.js';
import {
  CodeParams,
  CodeView,
  CreatedGrantView,
  CreateGrantBody,
  DecisionBody,
  EVENTS_STREAMED,
  GrantErrors,
  GrantIdParams,
  GrantView,
  LastEventIdHeaders,
  RedeemBody,
  RedeemedView,
} from './schemas.js';

function codeFormatOf(ctx: { config: DoorContext['config'] }): CodeFormat {
  const cfg = configSection(ctx.config, grantsConfigSchema);
  return new CodeFormat({
    alphabet: cfg.PAIRGATE_GRANTS_CODE_ALPHABET,
    length: cfg.PAIRGATE_GRANTS_CODE_LENGTH,
    checkCharacter: cfg.PAIRGATE_GRANTS_CODE_CHECK,
    groupSize: 4,
  });
}

// What a long-poll over the wait caps gets: an answer at once, which looks like any other.
const READ_WAIT_DESCRIPTION = 'With `?wait=S` (or `Prefer: wait=S`), answers as soon as the version passes `since` (by default, the version it has now) or the grant expires, else after S seconds (at most PAIRGATE_WAIT_MAX_SECONDS) unchanged. A wait is not held when this address already holds PAIRGATE_WAITS_PER_CLIENT waits and streams, or the server PAIRGATE_WAITS_MAX: the grant is answered at once, unchanged (with no `Preference-Applied`). A client that gets an unchanged answer sooner than it asked should pause before asking again (the SDK waits 1 s, doubling up to 15 s), not loop.';

const tooManyWaiting = (): RateLimitedError => new RateLimitedError(30, 'Too many requests are waiting for approval. Try again shortly.');
// Expired grants are deleted, so "not found" is also what an expired one answers: say so.
const notFound = (): NotFoundError => new NotFoundError('No live grant has this id: it expired, or the id is wrong. Create a new grant to ask again.', 'grant_not_found');
// A decided code is spent, so a second decision lands here too.
const codeNotFound = (): NotFoundError => new NotFoundError('No live request has this code: it expired, was already approved or refused, or is not the one given. Check the code, or ask for a new one.', 'code_not_found');

/**
 * Whether a grant read by id is one of this API's. Grant ids are unique across doors, and some
 * doors hand theirs out (the access door's key starts with it): read here, another door's grant
 * has no label to show (a 500), and its state is that door's business.
 */
function isPair(grant: Grant<unknown, unknown> | undefined): grant is Grant<PairRequest, PairResult> {
  return grant?.kind === PAIR_KIND;
}

/**
 * The generic grant API: the engine as plain HTTP, for programs that want a person to approve
 * something and for the SDK. Create -> read out the code -> the approver looks it up and approves
 * or refuses -> the creator, waiting by long-poll or events, redeems it once with its secret.
 */
export const grantsDoor: Door = {
  name: 'grants',
  codeScope: { scope: PAIR_KIND },
  configSchema: grantsConfigSchema,
  enabled: (config) => configSection(config, grantsConfigSchema).PAIRGATE_GRANTS_ENABLED,
  checkConfig(config) {
    assertBearerSecret('PAIRGATE_GRANTS_CREATE_TOKEN', configSection(config, grantsConfigSchema).PAIRGATE_GRANTS_CREATE_TOKEN, 'to let anyone create grants');
    const format = codeFormatOf({ config });
    assertWithinBudget('PAIRGATE_GRANTS_CODE_LENGTH', {
      entropyBits: format.entropyBits,
      liveCodes: config.PAIRGATE_MAX_LIVE_CODES,
      ttlSeconds: config.PAIRGATE_GRANT_TTL_SECONDS,
      attemptsPerSecond: attackerGuessRate(config, config.PAIRGATE_GRANT_TTL_SECONDS),
    }, config.PAIRGATE_BRUTE_FORCE_BUDGET);
  },
  configWarnings(config) {
    if (configSection(config, grantsConfigSchema).PAIRGATE_GRANTS_CREATE_TOKEN) return [];
    return [
      `Anyone reaching ${reachedAs(config) ?? config.PAIRGATE_HOST} can create generic grants (/api/v1/grants), and a few networks at PAIRGATE_GRANTS_MAX_LIVE_PER_IP each can hold all PAIRGATE_MAX_LIVE_CODES and lock creation for everyone: ` +
        'set PAIRGATE_GRANTS_CREATE_TOKEN and give it to the programs that create grants (or PAIRGATE_GRANTS_ENABLED=false if none do).',
    ];
  },
  async register(app: FastifyInstance, ctx: DoorContext) {
    const api = app.withTypeProvider<TypeBoxTypeProvider>();
    const cfg = configSection(ctx.config, grantsConfigSchema);
    const createToken = cfg.PAIRGATE_GRANTS_CREATE_TOKEN ? requireCreateToken(cfg.PAIRGATE_GRANTS_CREATE_TOKEN) : undefined;
    const format = codeFormatOf(ctx);
    const maxWait = ctx.config.PAIRGATE_WAIT_MAX_SECONDS;
    // The guard's, so that its refusals are counted apart (lookups_minute) from the misses' 429.
    const lookupLimit = ctx.codeGuard.rateLimit(PAIR_KIND, ctx.config.PAIRGATE_CODE_LOOKUPS_PER_MINUTE);
    const tags = ['grants'];
    // So that no one address holds every live code; a cap not below the server's never binds.
    const perAddressCap = cfg.PAIRGATE_GRANTS_MAX_LIVE_PER_IP < ctx.config.PAIRGATE_MAX_LIVE_CODES ? cfg.PAIRGATE_GRANTS_MAX_LIVE_PER_IP : undefined;
    // A store that counts owners keeps the cap with the grant itself (the SQLite store, from the
    // row's owner column: no write of its own); the shared stores keep it in numbered slots.
    const inStore = perAddressCap !== undefined && ctx.engine.countsOwners;
    const perAddress = perAddressCap !== undefined && !inStore ? new LiveGrantsPerAddress(ctx.stores.ephemeral, perAddressCap) : undefined;
    // Pending grants only: a decided grant's code is spent, and the cap is on the codes to guess.
    // Counted and logged: the client's 429 reads like any rate limit's, and told the operator nothing.
    const capacityFull = app.pairgate.metrics.capacityRefusal(PAIR_KIND, {
      setting: 'PAIRGATE_MAX_LIVE_CODES',
      value: ctx.config.PAIRGATE_MAX_LIVE_CODES,
      advice: 'If this is real use, raise it (the start-up check may then ask for longer codes) or shorten PAIRGATE_GRANT_TTL_SECONDS; if not, someone is holding the places: set PAIRGATE_GRANTS_CREATE_TOKEN, or lower PAIRGATE_GRANTS_MAX_LIVE_PER_IP.',
    }, ctx.logger, ctx.clock);
    const refuseFull = (): RateLimitedError => {
      capacityFull();
      return tooManyWaiting();
    };
    const capacity = { max: ctx.config.PAIRGATE_MAX_LIVE_CODES, refuse: refuseFull, of: 'pending' as const };

    api.post('/api/v1/grants', {
      schema: {
        tags,
        summary: 'Create a grant a person will approve by its code.',
        description: 'Needs `Authorization: Bearer <PAIRGATE_GRANTS_CREATE_TOKEN>` when the server sets that secret.',
        body: CreateGrantBody,
        ...(createToken ? { security: BEARER_SECRET } : {}),
        response: { 201: CreatedGrantView, 400: GrantErrors.create400, ...(createToken ? { 401: GrantErrors.create401 } : {}), 429: GrantErrors.create429 },
      },
      config: { rateLimit: { max: cfg.PAIRGATE_GRANTS_CREATE_PER_MINUTE, timeWindow: 60_000 } },
      // Before the body is read: a request without the secret is refused whatever it carries.
      ...(createToken ? { onRequest: createToken } : {}),
      schemaErrorFormatter: grantValidationError,
    }, async (request, reply) => {
      checkShownFields(request.body);
      const ttl = Math.min(request.body.ttl ?? ctx.config.PAIRGATE_GRANT_TTL_SECONDS, ctx.config.PAIRGATE_GRANT_TTL_SECONDS);
      // Not `await perAddress?.take(...)`: awaiting undefined still costs a turn of the microtask queue.
      const release = perAddress ? await perAddress.take(request.clientNetwork, ttl * 1000, ctx.clock.now()) : undefined;
      let created;
      try {
        created = await ctx.engine.create<PairRequest>({
          kind: PAIR_KIND,
          request: { label: request.body.label, data: request.body.data ?? {} },
          ttlMs: ttl * 1000,
          codeFormat: format,
          withSecret: true,
          capacity,
          // Not spread in (`...(inStore ? {...} : {})`): V8's slow path, as below.
          owner: inStore ? { id: request.clientNetwork, max: perAddressCap! } : undefined,
        });
      } catch (error) {
        if (error instanceof OwnerCapError) throw tooManyLiveGrants(perAddressCap!, Math.ceil(error.retryAfterMs / 1000));
        // No grant, so no slot: the address gets its place back.
        await release?.().catch(() => undefined);
        throw error;
      }
      const { grant, code, secret } = created;
      const base = `${ctx.publicUrl()}/api/v1/grants/${grant.id}`;
      // Assigned to the view, not spread into a literal with them: on Node 20 that takes V8's slow
      // path (see GrantEngine.createCounted), on every grant created.
      return reply.code(201).send(Object.assign(grantView(grant as never, 'pending'), {
        code: format.format(code!),
        secret: secret!,
        waitUrl: `${base}?wait=${maxWait}`,
        eventsUrl: `${base}/events`,
      }));
    });

    api.get('/api/v1/grants/:id', {
      schema: { tags, summary: 'Read a grant; with wait, answer when it changes.', description: READ_WAIT_DESCRIPTION, params: GrantIdParams, querystring: WaitQuery, headers: PreferWaitHeaders, response: { 200: GrantView, 400: GrantErrors.read400, 404: GrantErrors.notFound } },
    }, async (request, reply) => {
      const seconds = requestedWaitSeconds(request, reply, maxWait);
      // Before waiting, so another door's grant is not waited on before it is refused.
      if (seconds > 0 && !isPair(await ctx.engine.get(request.params.id))) {
        withdrawAppliedWait(request);
        throw notFound();
      }
      const grant = await waitForGrant<PairRequest, PairResult>(ctx, request, request.params.id, seconds, request.query.since);
      if (!isPair(grant)) throw notFound();
      return grantView(grant, ctx.engine.stateOf(grant));
    });

    api.get('/api/v1/grants/:id/events', {
      schema: { tags, summary: 'Server-sent events: a `state` event now and on every change.', params: GrantIdParams, headers: LastEventIdHeaders, response: { 200: eventStream(EVENTS_STREAMED), 204: GrantErrors.eventsOver, 400: GrantErrors.events400, 404: GrantErrors.notFound, 429: GrantErrors.events429 } },
    }, async (request, reply) => {
      if (!isPair(await ctx.engine.get(request.params.id))) throw notFound();
      await streamGrant<PairRequest, PairResult>(ctx, request, reply, request.params.id, (grant) => grantView(grant, ctx.engine.stateOf(grant)), maxWait * 5, undefined, { eventIds: true });
    });

    api.post('/api/v1/grants/:id/redeem', {
      schema: { tags, summary: 'Redeem an approved grant with its secret; works once.', params: GrantIdParams, body: RedeemBody, response: { 200: RedeemedView, 400: GrantErrors.redeem400, 404: GrantErrors.redeem404, 409: GrantErrors.redeem409 } },
    }, async (request) => {
      const grant = await ctx.engine.findWithSecret<PairRequest, PairResult>(PAIR_KIND, request.params.id, request.body.secret);
      // The same answer for a wrong secret and a wrong id: neither is revealed.
      if (!grant) throw notFound();
      let redeemed;
      try {
        redeemed = await ctx.engine.redeem<PairRequest, PairResult>(grant.id);
      } catch (error) {
        throw redeemRefusal(error, grant.result?.note ?? null);
      }
      return { id: redeemed.id, state: redeemed.state, approvedBy: redeemed.result?.decidedBy ?? '', note: redeemed.result?.note ?? null };
    });

    const findLive = async (ip: string, code: string) => {
      const grant = await ctx.codeGuard.lookup(PAIR_KIND, ip, () => ctx.engine.findByCode<PairRequest, PairResult>(PAIR_KIND, format, code));
      if (!grant) throw codeNotFound();
      return grant;
    };

    api.get('/api/v1/codes/:code', {
      schema: { tags, summary: 'What a code asks, for the person about to decide.', params: CodeParams, response: { 200: CodeView, 400: GrantErrors.code400, 404: GrantErrors.code404, 429: GrantErrors.code429 } },
      config: { rateLimit: lookupLimit },
    }, async (request) => {
      const grant = await findLive(request.clientNetwork, request.params.code);
      return { label: grant.request.label, data: grant.request.data, state: ctx.engine.stateOf(grant), expiresAt: isoTime(grant.expiresAt) };
    });

    for (const decision of ['approve', 'refuse'] as const) {
      api.post(`/api/v1/codes/:code/${decision}`, {
        schema: { tags, summary: `${decision === 'approve' ? 'Approve' : 'Refuse'} the request a code names; the code is spent.`, params: CodeParams, body: DecisionBody, response: { 200: GrantView, 400: GrantErrors.decision400, 404: GrantErrors.code404, 409: GrantErrors.code409, 429: GrantErrors.code429 } },
        // The note is optional, and so is the body that carries it: a bare POST decides too.
        config: { rateLimit: lookupLimit, optionalBody: true },
      }, async (request) => {
        // Before the look-up: a note refused spends no code and counts no miss.
        checkShownNote(request.body?.note);
        const grant = await findLive(request.clientNetwork, request.params.code);
        const result: PairResult = { decidedBy: request.ip, note: request.body?.note ?? null };
        let decided;
        try {
          decided = decision === 'approve' ? await ctx.engine.approve(grant.id, result) : await ctx.engine.refuse(grant.id, result);
        } catch (error) {
          throw decisionRefusal(error);
        }
        return grantView(decided as never, decided.state);
      });
    }
  },
};
