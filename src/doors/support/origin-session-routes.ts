import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { BadGatewayError, ConflictError, InvalidRequestError, NotFoundError, RateLimitedError, UnavailableError } from '../../core/errors.js';
import { hasUnshowableText, unshowableRule } from '../shared/shown-text.js';
import { constantTimeEqual, hashToken, randomId } from '../../core/ids.js';
import { configSection } from '../../server/config.js';
import { IdTakenError } from '../../store/ports.js';
import type { DoorContext } from '../door.js';
import { hashRequesterOf, type HashRequester } from '../accounts/password-hashing.js';
import { PreferWaitHeaders, WaitQuery } from '../shared/wait-schemas.js';
import { queryWaitSeconds, requestedWaitSeconds, waitForGrant } from '../shared/waiting.js';
import { AuthFailureBudget } from './auth-budget.js';
import { basicCredentials, challenge, matchesAdmin } from './basic-auth.js';
import { supportConfigSchema } from './config.js';
import { maxSessions } from './code-budget.js';
import { PAIRING_KIND, SESSION_KIND } from './relay-code.js';
import { publishOnRelay, withConsequence } from './relay-client.js';
import { SEAL_KIND, sealToken } from './sealed-token.js';
import type { SessionHub } from './session-channel.js';
import { SessionIdLock } from './session-id-lock.js';
import type { SessionMemories, SessionMemory } from './session-memory.js';
import type { SupporterPasswords } from './supporter-passwords.js';
import { VerifiedLogins } from './verified-logins.js';
import { assertSameOriginUpgrade } from './websocket-origin.js';
import { refuseCrossSiteWrite } from './cross-site-writes.js';
import {
  agentConfig,
  agentToken,
  mshFile,
  newMeshIdHex,
  newSessionId,
  sessionGrantId,
  sessionState,
  type SessionGrant,
  type SessionRequest,
  type SessionResult,
} from './session-model.js';
import { CreatedSessionView, CreateSessionBody, RefParams, SessionIdParams, SessionListView, SessionView, SupportErrors, SupporterChannelQuery } from './schemas.js';
import { BASIC_AUTH } from '../../server/openapi-security.js';

/** What a pairing grant holds: its session and the agent token sealed under the code. */
export interface PairingRequest {
  sessionGrantId: string;
  sealedToken: string;
}

/** Ephemeral index of live sessions, for the listing (grants have no listing of their own). */
const INDEX_PREFIX = 'support:session:';

/**
 * True for an absolute https URL: pictures (avatar, logo) must be, because the pages load images
 * over https only (the confirmation page's CSP, `REMOTE_IMAGE_PAGE_HEADERS`: `img-src 'self' data:
 * https:`), so an http picture would never show.
 */
export function isHttpsUrl(value: string): boolean {
  // `//` required: URL parsing takes `https:x` (and `https:/x`) for https://x/, which no one means
  // as a picture's address, and the page would send the text as written, not as parsed. No space
  // or control character either: the parser drops tabs and line breaks and escapes spaces, so
  // `https://a.example/ x` passed and was kept and shown as typed, not as the address it loads.
  return isHttpUrl(value) && /^https:\/\//i.test(value) && !/[\s\p{Cc}]/u.test(value);
}

/** True for an absolute http(s) URL. */
export function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

/** Splits `<id>:<token>` (the tail of AgentMSH and MeshServer). */
export function splitRef(ref: string): { id: string; token: string } | undefined {
  const colon = ref.lastIndexOf(':');
  if (colon <= 0) return undefined;
  return { id: ref.slice(0, colon), token: ref.slice(colon + 1) };
}

/** A session found for a route: live (its grant), or expired (what is remembered of it). */
type KnownSession =
  | { grant: SessionGrant; memory?: undefined; login: Login; grantId: string }
  | { grant?: undefined; memory: SessionMemory; login: Login; grantId: string };

/** A session's own login (the seed's `username`/`password`), password as a scrypt hash. */
interface Login {
  username: string | null;
  passwordHash: string | null;
}

/**
 * The origin's session routes (Plexus): create a session (publishing it on the relay when pairing
 * is on), read, list and delete sessions, the agent configuration file, and the two sides of the
 * session channel. Session passwords are hashed and checked with `passwords` (through the node's
 * password gate).
 */
export async function registerSessionRoutes(app: FastifyInstance, ctx: DoorContext, hub: SessionHub, memories: SessionMemories, passwords: SupporterPasswords): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const cfg = configSection(ctx.config, supportConfigSchema);
  const pairingOn = cfg.PLEXUS_PAIRING_URL !== '';
  const sessionCap = maxSessions(ctx.config);
  const tags = ['support origin'];
  const errors = { 400: SupportErrors.params400, 401: SupportErrors.session401, 404: SupportErrors.notFound, 429: SupportErrors.session429 };
  // The writes refuse a browser's post from another site's page before its credentials are read.
  const sameSiteWrites = async (request: FastifyRequest): Promise<void> => refuseCrossSiteWrite(request, ctx.publicUrl());

  const view = (grant: SessionGrant) => ({
    ID: grant.request.id,
    State: sessionState(ctx.engine.stateOf(grant), grant.result),
    Version: grant.version,
    SessionURL: `${ctx.publicUrl()}/session/${grant.request.id}`,
    SupporterName: grant.request.supporterName,
    SupporterAvatar: grant.request.supporterAvatar,
    Pairing: grant.request.pairingGrantId !== null,
    CreatedAt: new Date(grant.createdAt).toISOString(),
    ExpiresAt: new Date(grant.expiresAt).toISOString(),
    ConfirmedAt: grant.result?.confirmedAt ? new Date(grant.result.confirmedAt).toISOString() : null,
    ConnectedAt: grant.result?.connected && grant.result.connectedAt ? new Date(grant.result.connectedAt).toISOString() : null,
  });

  /**
   * When the session's pairing code stops working, while it still works: the supporter reads it to
   * know whether the code they read out is still good or `POST /session/:id/code` is needed. Null
   * when there is none (no pairing, the session no longer waiting, the code expired, declined or burned).
   */
  const liveCodeExpiresAt = async (grant: SessionGrant): Promise<string | null> => {
    const pairingGrantId = grant.request.pairingGrantId;
    if (!pairingGrantId || sessionState(ctx.engine.stateOf(grant), grant.result) !== 'waiting') return null;
    const pairing = await ctx.engine.get(pairingGrantId);
    return pairing && ctx.engine.stateOf(pairing) === 'pending' ? new Date(pairing.expiresAt).toISOString() : null;
  };
  const liveView = async (grant: SessionGrant) => ({ ...view(grant), PairingCodeExpiresAt: await liveCodeExpiresAt(grant) });

  // What is remembered of an expired session: what it was created with (its later confirmation and
  // connection went with its grant).
  const expiredView = (memory: SessionMemory) => ({
    ID: memory.id,
    State: 'expired' as const,
    Version: memory.version,
    SessionURL: `${ctx.publicUrl()}/session/${memory.id}`,
    SupporterName: memory.supporterName,
    SupporterAvatar: memory.supporterAvatar,
    Pairing: memory.pairing,
    CreatedAt: new Date(memory.createdAt).toISOString(),
    ExpiresAt: new Date(memory.expiresAt).toISOString(),
    ConfirmedAt: null,
    ConnectedAt: null,
    PairingCodeExpiresAt: null,
  });

  const authBudget = new AuthFailureBudget(ctx.stores.ephemeral, ctx.clock, {
    perIp: cfg.PAIRGATE_SUPPORT_AUTH_FAILURES_PER_IP,
    perSession: cfg.PAIRGATE_SUPPORT_AUTH_FAILURES_PER_SESSION,
    windowMs: cfg.PAIRGATE_SUPPORT_AUTH_WINDOW_SECONDS * 1000,
  });

  // Only credentials that were presented and wrong count as failures: a browser asks first without
  // any, and learns from the 401 that it must.
  const requireAdmin = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const given = basicCredentials(request);
    const { ok } = await authBudget.check(request.clientNetwork, undefined, given !== undefined, async () => ({ ok: matchesAdmin(given, cfg.PLEXUS_AUTH_USER, cfg.PLEXUS_AUTH_PASS) }));
    if (!ok) challenge(reply);
  };

  /** Session `id`: live, or (with `withExpired`) expired and still remembered. */
  const lookUp = async (id: string, withExpired: boolean): Promise<KnownSession | undefined> => {
    const grant = await ctx.engine.get<SessionRequest, SessionResult>(sessionGrantId(id));
    if (grant) return { grant, login: grant.request, grantId: grant.id };
    const memory = withExpired ? await memories.expired(sessionGrantId(id)) : undefined;
    return memory ? { memory, login: memory, grantId: memory.grantId } : undefined;
  };

  // A session's own login verified in the last minute is not checked again (a supporter tool polls
  // with it); only verified ones are kept, so wrong credentials still cost their scrypt.
  const verifiedLogins = new VerifiedLogins(ctx.clock);

  /**
   * Whether `given` is the own login of the session `found`: its username, and its password checked
   * with scrypt, or found among the logins verified in the last minute (`VerifiedLogins`, for this
   * session's stored hash as read now). Anything else costs one scrypt (the session's hash, else a
   * dummy one), whatever the username and the id; `from` is the request's network and signal for
   * the password gate (`hashRequesterOf`).
   */
  const isOwnLogin = async (given: { user: string; password: string } | undefined, found: KnownSession | undefined, from: HashRequester): Promise<boolean> => {
    const login = found?.login;
    // The right username alone runs no cheaper path: without it the password is checked against
    // a dummy hash, so a wrong username costs one scrypt like a wrong password.
    const ownHash = login?.username && login.passwordHash && given && constantTimeEqual(given.user, login.username) ? login.passwordHash : undefined;
    const claim = found && ownHash !== undefined ? { sessionGrantId: found.grantId, username: login!.username!, passwordHash: ownHash } : undefined;
    const password = given?.password ?? '';
    if (claim && verifiedLogins.has(claim, password)) return true;
    const own = await passwords.verifyOrDummy(password, ownHash, from);
    if (own && claim) verifiedLogins.remember(claim, password);
    return own;
  };

  /**
   * Session `id` (live, or also expired with `withExpired`), for the admin or the session's own
   * login (`isOwnLogin`); 401 before 404, so ids do not leak. Wrong credentials count per address
   * and per id; a spent budget is refused before any scrypt runs, or any verified login is looked up.
   */
  const authorize = async (request: FastifyRequest, reply: FastifyReply, id: string, withExpired: boolean): Promise<KnownSession> => {
    const given = basicCredentials(request);
    const admin = matchesAdmin(given, cfg.PLEXUS_AUTH_USER, cfg.PLEXUS_AUTH_PASS);
    // The admin's credentials skip the session's budget (they are no session's password); a request
    // without credentials is asked for them (after the address's budget), counted nowhere.
    const { ok, known } = await authBudget.check(request.clientNetwork, admin || !given ? undefined : id, given !== undefined, async () => {
      if (!admin && !given) return { ok: false, known: undefined };
      const found = await lookUp(id, withExpired);
      if (admin) return { ok: true, known: found };
      return { ok: await isOwnLogin(given, found, hashRequesterOf(request)), known: found };
    });
    if (!ok) challenge(reply);
    if (!known) throw new NotFoundError(`No live session has the id ${id}.`, 'session_not_found');
    return known;
  };


  /** The live session `id`, as `authorize` lets through. */
  const authorizedSession = async (request: FastifyRequest, reply: FastifyReply, id: string): Promise<SessionGrant> =>
    (await authorize(request, reply, id, false)).grant!;

  const tooManySessions = (): RateLimitedError => new RateLimitedError(30, 'Too many sessions are live. End one, or try again shortly.');

  // 400 as the spec prefers (documented in docs/support.md), with its own machine code.
  const idTaken = (id: string): InvalidRequestError => new InvalidRequestError(`The session id ${id} is in use. Choose another id, or delete that session first.`, undefined, 'session_id_taken');
  const idLock = new SessionIdLock(ctx.stores.ephemeral, ctx.clock);
  const idBusy = (): UnavailableError => new UnavailableError('The session id is being written by another request (a creation under it). Try again shortly.');

  /**
   * Creates the session grant; an id held by an expired, not yet swept session is reclaimed. The id
   * is held meanwhile (SessionIdLock): of creations at once under one id, on any node, exactly one
   * gets it, and a reclaim never removes another creation's new session.
   */
  const createSessionGrant = async (request: SessionRequest, ttlMs: number): Promise<SessionGrant> => {
    const grantId = sessionGrantId(request.id);
    return idLock.hold(grantId, async () => {
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          const { grant } = await ctx.engine.create<SessionRequest>({ kind: SESSION_KIND, id: grantId, request, ttlMs, capacity: { max: sessionCap, refuse: tooManySessions } });
          return grant as SessionGrant;
        } catch (error) {
          if (!(error instanceof IdTakenError)) throw error;
          if (attempt === 0 && !(await ctx.engine.get(grantId))) {
            await ctx.engine.remove(grantId);
            continue;
          }
          throw idTaken(request.id);
        }
      }
      throw idTaken(request.id);
    }, () => idTaken(request.id));
  };

  /** Publishes the session on the relay and stores the relay's code (hashed) as its pairing grant. */
  const issueCode = async (session: SessionGrant, pairingGrantId: string, token: string): Promise<{ code: string; pairingUrl: string }> => {
    try {
      const published = await publishOnRelay(cfg.PLEXUS_PAIRING_URL, `${ctx.publicUrl()}/pairing`, { timeoutMs: cfg.PAIRGATE_SUPPORT_RELAY_TIMEOUT_SECONDS * 1000, apiKey: cfg.PAIRGATE_SUPPORT_RELAY_API_KEY });
      // Never longer than its session, nor than the relay keeps it: past that, people typing it on
      // the relay's page (or `pairgate join`) would be told it does not exist while the
      // confirmation page still said it lives.
      const ttlMs = Math.max(1_000, Math.min(cfg.PLEXUS_PAIRING_TTL * 1000, session.expiresAt - ctx.clock.now(), published.expiresInMs ?? Infinity));
      await ctx.engine.create<PairingRequest>({ kind: PAIRING_KIND, id: pairingGrantId, request: { sessionGrantId: session.id, sealedToken: sealToken(token, ctx.engine.codeHash(SEAL_KIND, published.code), pairingGrantId) }, ttlMs });
      try {
        await ctx.engine.update(pairingGrantId, () => ({ codeHash: ctx.engine.codeHash(PAIRING_KIND, published.code) }));
      } catch {
        throw new BadGatewayError('The pairing relay handed out a code that is already live here', 'relay_code_taken');
      }
      return { code: published.code, pairingUrl: published.pairingUrl };
    } catch (error) {
      await ctx.engine.remove(pairingGrantId).catch(() => false);
      throw error;
    }
  };

  /** The 201 body of session creation (and of a new code). */
  const createdView = (session: SessionGrant, token: string, pairing: { code: string; pairingUrl: string } | undefined) => {
    const base = ctx.publicUrl();
    const id = session.request.id;
    return {
      ID: id,
      SessionURL: `${base}/session/${id}`,
      AgentMSH: `${base}/config/${id}:${token}`,
      AgentConfig: agentConfig(base, session.request, token),
      ExpiresAt: new Date(session.expiresAt).toISOString(),
      ...(pairing ? { PairingCode: pairing.code, PairingURL: pairing.pairingUrl, PairingUrl: pairing.pairingUrl } : {}),
    };
  };

  api.post('/session', {
    schema: { tags, security: BASIC_AUTH, summary: 'Create a support session (basic auth); publishes it on the relay when pairing is on.', body: CreateSessionBody, response: { 201: CreatedSessionView, 400: SupportErrors.create400, 401: SupportErrors.adminOnly401, 403: SupportErrors.crossSite403, 413: SupportErrors.create413, 415: SupportErrors.create415, 429: SupportErrors.create429, 502: SupportErrors.create502 } },
    config: { rateLimit: { max: 60, timeWindow: 60_000 } },
    onRequest: sameSiteWrites,
  }, async (request, reply) => {
    await requireAdmin(request, reply);
    const body = request.body ?? {};
    const supporterName = (body.supporter_name ?? '').trim();
    const supporterAvatar = (body.supporter_avatar ?? '').trim();
    if (pairingOn && (!supporterName || !supporterAvatar)) {
      throw new InvalidRequestError('supporter_name and supporter_avatar are required when pairing is on.', undefined, 'supporter_required');
    }
    // The confirmation page puts the name in the sentence that says who asks: a text-direction
    // override there turns "Bank of \u202Eacirema" into "Bank of america" (the rule the other
    // doors' names follow, shared/shown-text.ts).
    if (hasUnshowableText(supporterName, true)) {
      throw new InvalidRequestError(`supporter_name must not contain ${unshowableRule(true)}: the confirmation page shows it to the person as written.`, { field: 'supporter_name' }, 'supporter_name_invalid');
    }
    if (supporterAvatar && !isHttpsUrl(supporterAvatar)) {
      throw new InvalidRequestError('supporter_avatar must be an absolute https URL (pages load pictures over https only).', undefined, 'supporter_avatar_invalid');
    }
    const ttl = body.ttl ?? cfg.PAIRGATE_SUPPORT_DEFAULT_TTL;
    if (ttl > cfg.PAIRGATE_SUPPORT_MAX_TTL) {
      throw new InvalidRequestError(`ttl must be from 10 to ${cfg.PAIRGATE_SUPPORT_MAX_TTL} seconds.`, undefined, 'ttl_invalid');
    }
    if ((body.username === undefined) !== (body.password === undefined)) {
      throw new InvalidRequestError('username and password go together.', undefined, 'credentials_incomplete');
    }
    // An empty one would be a login anyone who knows (or guesses) the name can use.
    if (body.username !== undefined && (body.username.trim() === '' || body.password === '')) {
      throw new InvalidRequestError('username and password of the session\'s own login may not be empty.', undefined, 'credentials_incomplete');
    }
    // Basic auth sends `user:password` and splits it at the first colon (RFC 7617): a login whose
    // name holds one would be created and could never sign in.
    if (body.username?.includes(':')) {
      throw new InvalidRequestError('username of the session\'s own login may not contain ":": Basic auth splits the user from the password at the first colon (RFC 7617), so that login could never sign in.', { field: 'username' }, 'credentials_incomplete');
    }
    // Refused early, before the password is hashed; the creation checks again, exactly.
    if ((await ctx.engine.countLive(SESSION_KIND)) >= sessionCap) throw tooManySessions();
    const id = body.id ?? newSessionId();
    const token = agentToken();
    const pairingGrantId = pairingOn ? randomId() : null;
    const session = await createSessionGrant({
      id,
      supporterName,
      supporterAvatar,
      username: body.username ?? null,
      passwordHash: body.password !== undefined ? await passwords.hash(body.password, hashRequesterOf(request)) : null,
      tokenHash: hashToken(token),
      meshName: `pairgate/${id}/${randomId(4).slice(0, 5)}`,
      meshIdHex: newMeshIdHex(),
      pairingGrantId,
    }, ttl * 1000);

    let pairing: { code: string; pairingUrl: string } | undefined;
    if (pairingGrantId) {
      try {
        pairing = await issueCode(session, pairingGrantId, token);
      } catch (error) {
        // Nothing half made: the session and its pairing grant go, and the id is free again.
        await ctx.engine.remove(session.id).catch(() => false);
        throw withConsequence(error, 'no session was created.');
      }
    }
    await ctx.stores.ephemeral.set(`${INDEX_PREFIX}${id}`, session.id, ttl * 1000, ctx.clock.now());
    await memories.remember(session);
    return reply.code(201).send(createdView(session, token, pairing));
  });

  api.post('/session/:id/code', {
    schema: { tags, security: BASIC_AUTH, summary: 'A new pairing code (and agent token) for a session still waiting, e.g. when its code expired (basic auth).', params: SessionIdParams, response: { 201: CreatedSessionView, ...errors, 403: SupportErrors.crossSite403, 409: SupportErrors.newCode409, 502: SupportErrors.newCode502 } },
    config: { rateLimit: { max: 60, timeWindow: 60_000 } },
    onRequest: sameSiteWrites,
  }, async (request, reply) => {
    const session = await authorizedSession(request, reply, request.params.id);
    if (!pairingOn) throw new ConflictError('Pairing codes are off on this server (PLEXUS_PAIRING_URL is not set).', 'pairing_off');
    const notWaiting = (): ConflictError => new ConflictError('This session was already confirmed or declined; it takes no new code. To start over, delete it and create a new session.', 'session_not_waiting');
    if (ctx.engine.stateOf(session) !== 'pending') throw notWaiting();
    // The token changes too, since only its hash is kept. The code replaced is the one this update
    // replaced, read within its compare-and-set: two requests at once each replace a different one
    // (and a code no longer the session's decides nothing, pairing-routes.ts).
    const token = agentToken();
    const pairingGrantId = randomId();
    let replaced: string | null = null;
    const updated = await ctx.engine.update<SessionRequest, SessionResult>(session.id, (current) => {
      if (ctx.engine.stateOf(current) !== 'pending') throw notWaiting();
      replaced = current.request.pairingGrantId;
      return { request: { ...current.request, tokenHash: hashToken(token), pairingGrantId } };
    });
    if (replaced) await ctx.engine.remove(replaced);
    let pairing: { code: string; pairingUrl: string };
    try {
      pairing = await issueCode(updated, pairingGrantId, token);
    } catch (error) {
      throw withConsequence(error, 'the session is kept, without a code (its old code and agent token were replaced): ask for a new code again shortly.');
    }
    return reply.code(201).send(createdView(updated, token, pairing));
  });

  api.get('/session', {
    schema: { tags, security: BASIC_AUTH, summary: 'List live sessions (basic auth).', response: { 200: SessionListView, 401: SupportErrors.adminOnly401, 429: SupportErrors.session429 } },
  }, async (request, reply) => {
    await requireAdmin(request, reply);
    const entries = await ctx.stores.ephemeral.list(INDEX_PREFIX, ctx.clock.now());
    const grants = await Promise.all(entries.map((entry) => ctx.engine.get<SessionRequest, SessionResult>(entry.value)));
    return { Sessions: await Promise.all(grants.filter((grant): grant is SessionGrant => Boolean(grant)).map(liveView)) };
  });

  api.get('/session/:id', {
    schema: { tags, security: BASIC_AUTH, summary: 'State of a session (basic auth); with wait, answers on the next change.', params: SessionIdParams, querystring: WaitQuery, headers: PreferWaitHeaders, response: { 200: SessionView, ...errors } },
  }, async (request, reply) => {
    // A bad wait is refused even where it would not be read (an expired session), as the schema refuses most.
    queryWaitSeconds(request);
    const known = await authorize(request, reply, request.params.id, true);
    // Expired is final: answered at once, whatever the (valid) wait.
    if (!known.grant) return expiredView(known.memory);
    const seconds = requestedWaitSeconds(request, reply, ctx.config.PAIRGATE_WAIT_MAX_SECONDS);
    const latest = seconds > 0 ? await waitForGrant<SessionRequest, SessionResult>(ctx, request, known.grant.id, seconds, request.query.since) : known.grant;
    if (latest) return liveView(latest);
    // Gone during the wait: expired (remembered), or ended.
    const memory = await memories.expired(known.grant.id);
    if (memory) return expiredView(memory);
    throw new NotFoundError(`The session ${request.params.id} has ended.`, 'session_not_found');
  });

  api.delete('/session/:id', {
    schema: { tags, security: BASIC_AUTH, summary: 'End and remove a session (basic auth); its code dies with it. An expired session is forgotten.', params: SessionIdParams, response: { 204: Type.Null({ description: 'The session is ended and forgotten; its code and agent link no longer work.' }), ...errors, 403: SupportErrors.crossSite403 } },
    config: { sharedAnswersAlso: { 503: '`unavailable` too when another request has held the session id for 5 s (a creation or an end under way on some node); try again.' } },
    onRequest: sameSiteWrites,
  }, async (request, reply) => {
    const known = await authorize(request, reply, request.params.id, true);
    // Only the session authorized goes, and its list entry with it, under the id's hold (see
    // SessionIdLock): one created again under the id meanwhile (the first expired and was
    // reclaimed) keeps its grant, its note and its entry in the list.
    const forgetEntry = (): Promise<void> => ctx.stores.ephemeral.delete(`${INDEX_PREFIX}${request.params.id}`);
    // Its login goes too (on other nodes, the session not found any more is what refuses it).
    verifiedLogins.forgetSession(known.grantId);
    if (known.grant) {
      await hub.end(known.grant.id, 'deleted', known.grant.request.meshIdHex, forgetEntry);
    } else {
      const grantId = known.memory.grantId;
      await idLock.hold(grantId, async () => {
        if (await ctx.engine.get(grantId)) return;
        await memories.forget(grantId);
        await forgetEntry();
      }, idBusy);
    }
    return reply.code(204).send(null);
  });

  /** The live session a `<id>:<token>` reference names, or a 404 that says nothing more. */
  const sessionByRef = async (ref: string): Promise<SessionGrant> => {
    const parts = splitRef(ref);
    const grant = parts ? await ctx.engine.get<SessionRequest, SessionResult>(sessionGrantId(parts.id)) : undefined;
    if (!parts || !grant || !constantTimeEqual(hashToken(parts.token), grant.request.tokenHash)) {
      throw new NotFoundError('No live session has this agent link.', 'session_not_found');
    }
    return grant;
  };

  api.get('/config/:ref', {
    schema: { tags, summary: 'The agent configuration (.msh key=value file) of AgentMSH.', params: RefParams, response: { 200: { description: 'MeshName=...\\nMeshServer=... (key=value lines)', content: { 'text/plain': { schema: { type: 'string' } } } }, 404: SupportErrors.agentFile404 } },
  }, async (request, reply) => {
    const grant = await sessionByRef(request.params.ref);
    const token = splitRef(request.params.ref)!.token;
    return reply.type('text/plain; charset=utf-8').header('cache-control', 'no-store').send(mshFile(agentConfig(ctx.publicUrl(), grant.request, token)));
  });

  // The session channel: the two routes that take WebSockets, in a scope of their own so that no
  // other route pays for the WebSocket plugin's hooks.
  await app.register(async (channels) => {
    await ctx.acceptWebSockets(channels);
    // Both sides of the channel refuse upgrades from pages of other sites, before anything else.
    const sameOrigin = async (request: FastifyRequest): Promise<void> => assertSameOriginUpgrade(request, ctx.publicUrl());

    // The agent's side of the session channel: the token in the URL picks the session before the
    // upgrade; the credential from the confirmation comes in the first message.
    const agentSessions = new WeakMap<FastifyRequest, SessionGrant>();
    channels.get<{ Params: { ref: string } }>('/agent/:ref', {
      websocket: true,
      schema: { hide: true, params: RefParams },
      onRequest: sameOrigin,
      preValidation: async (request) => {
        agentSessions.set(request, await sessionByRef(request.params.ref));
      },
    }, (socket, request) => {
      hub.acceptAgent(socket, agentSessions.get(request)!);
    });

    // The supporter's side: basic auth (admin or the session's own login) before the upgrade.
    const supporterSessions = new WeakMap<FastifyRequest, SessionGrant>();
    channels.get<{ Params: { id: string }; Querystring: { history?: boolean } }>('/session/:id/channel', {
      websocket: true,
      schema: { hide: true, params: SessionIdParams, querystring: SupporterChannelQuery },
      onRequest: sameOrigin,
      preValidation: async (request, reply) => {
        supporterSessions.set(request, await authorizedSession(request, reply, request.params.id));
      },
    }, async (socket, request) => {
      await hub.acceptSupporter(socket, supporterSessions.get(request)!, { history: request.query.history === true });
    });
  });
}
