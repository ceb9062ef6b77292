import { setMaxListeners } from 'node:events';
import type { IncomingMessage } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { systemClock, type Clock } from '../core/clock.js';
import { RateLimitedError } from '../core/errors.js';
import type { Door, DoorContext } from '../doors/door.js';
import { CodeGuard, type LookupRefusal } from '../engine/code-guard.js';
import { GrantEngine } from '../engine/grant-engine.js';
import { CodeHasher } from '../core/codes.js';
import { loadCodeHashKey } from './code-hash-key.js';
import type { Stores } from '../store/ports.js';
import { Pages } from '../web/pages.js';
import type { Config } from './config.js';
import { sharedRateLimitOptions } from './ephemeral-rate-limit-store.js';
import { startBackups, type BackupSchedule } from './backups.js';
import { doorSweepPeriodMs, doorSweeps } from './door-sweeps.js';
import { parseQuery } from './query-string.js';
import { clientErrorHandler, installExpectationRefusal } from './client-errors.js';
import { claimPathPrefix, corsAnswerHeaders, installErrorHandlers, rawErrorPageAnswer, schemaErrorFormatter, sendFrameworkError } from './error-handler.js';
import { docsPageOptions } from './docs-page.js';
import { installHealthRoutes } from './health-routes.js';
import { installJsonBodyParser } from './json-body.js';
import { installSecurityHeaders } from './security-headers.js';
import { installShutdownRefusal, shuttingDownError } from './shutdown-refusal.js';
import { pairgateErrorShape } from './error-shapes.js';
import { rawJsonAnswer } from './raw-answer.js';
import { installRequestFraming, LET_MISSING_HOST_THROUGH } from './request-framing.js';
import { requestTimeouts } from './request-timeouts.js';
import { trustedProxies } from './trust-proxy.js';
import { loggerOptions, makeChildrenLazy, RequestLineController } from './logger.js';
import { ServerMetrics, ThrottledRefusals, installMetrics } from './metrics.js';
import { SECURITY_SCHEMES } from './openapi-security.js';
import { installOptionalBodies } from './optional-bodies.js';
import { installCookies } from './cookies.js';
import { decorateClientNetwork } from './public-network.js';
import { addFormContentTypeParser, noteRouteScopes } from './form-body.js';
import { requestValidation } from './request-validation.js';
import { responseSerialization } from './response-serialization.js';
import { ROUTER_ANSWERS_DESCRIPTION, ROUTER_RESPONSES, addSharedResponses } from './openapi-responses.js';
import { WaitSlots } from '../doors/shared/wait-slots.js';
import { packageVersion } from './version.js';
import { WebSocketUpgrades } from './websocket-upgrades.js';
import { OpenConnections } from './open-connections.js';

/** What buildApp needs: validated configuration, opened stores and the doors to serve. */
export interface AppOptions {
  config: Config;
  stores: Stores;
  doors: readonly Door[];
  clock?: Clock;
  /** Log to this stream instead of stdout (tests pass a sink). */
  logStream?: NodeJS.WritableStream;
  /** Set when the listening URL becomes known (port 0), for the public URL default. */
  listenUrl?: () => string | undefined;
}

/** What the server exposes to its own plugins and to tests. */
export interface PairgateServices {
  config: Config;
  engine: GrantEngine;
  stores: Stores;
  metrics: ServerMetrics;
  codeGuard: CodeGuard;
  publicUrl(): string;
}

declare module 'fastify' {
  interface FastifyInstance {
    pairgate: PairgateServices;
    /** The copies of the embedded database, when PAIRGATE_BACKUP_DIR is set. */
    backups: BackupSchedule | undefined;
  }
}


/** How often connections with no request in flight are closed while the server shuts down. */
const IDLE_CLOSE_CHECK_MS = 20;

/**
 * How long a request's body may make no progress once the server shuts down before it is refused
 * (503 `shutting_down`, OpenConnections.endStalledBodies): never longer than the request timeout
 * (a client is never given more to send a whole request), and 2 s at most, far below the 10 s
 * grace period a silent client held. A healthy client seldom stalls that long (TCP sends a lost
 * segment again within about a second the first time; only the same segment lost twice running
 * takes longer), and one that does is answered 503 with Retry-After: its handler has not run, so it
 * sends the request again, to the restarted server or another node. Counted only while the server
 * reads the body (endStalledBodies).
 */
export function bodyStallMs(requestTimeoutMs: number): number {
  return Math.min(2_000, requestTimeoutMs);
}

/**
 * The answer to a request whose body stalled while shutting down: at a page's form, to a browser
 * asking for HTML first, the error page, as the page's other refusals before its handler
 * (`rawErrorPageAnswer`); else in the shape of the door owning its path, with the CORS headers of
 * its route where it is open to other origins: written on the socket, it has none of the headers
 * the route's hooks put on its reply.
 */
function stalledBodyRefusal(app: FastifyInstance, request: IncomingMessage): string {
  const url = request.url ?? '/';
  const headers = { 'retry-after': '5', ...corsAnswerHeaders(app, request.method ?? 'GET', url) };
  const error = shuttingDownError();
  return rawErrorPageAnswer(request, error, headers) ?? rawJsonAnswer(503, (app.errorShapesByPrefix?.shapeOf(url) ?? pairgateErrorShape)(error), headers);
}

/**
 * Builds the Fastify app: plugins (security headers, rate limit, forms, OpenAPI, metrics), health
 * routes and every enabled door. It does not listen: tests use `inject` or `listen` on port 0.
 */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config, stores } = options;
  const clock = options.clock ?? systemClock;
  const timeouts = requestTimeouts(config.PAIRGATE_REQUEST_TIMEOUT_SECONDS);
  const app = Fastify({
    logger: { ...loggerOptions(config.PAIRGATE_LOG_LEVEL), ...(options.logStream ? { stream: options.logStream } : {}) } as never,
    bodyLimit: config.PAIRGATE_BODY_LIMIT,
    ...timeouts,
    // A request without Host is refused in pairgate's shape, not by Node (request-framing.ts).
    http: { ...timeouts.http, ...LET_MISSING_HOST_THROUGH },
    trustProxy: trustedProxies(config.PAIRGATE_TRUST_PROXY),
    requestIdHeader: false,
    // WHATWG parsing, and escapes that are not UTF-8 refused, not passed on undecoded (query-string.ts).
    routerOptions: { querystringParser: parseQuery },
    // Text (query, params, headers, form fields) is converted to the schema's types; a JSON body
    // is not: a value of the wrong type is refused (request-validation.ts).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
    // Checks and serializers compiled once per process, shared by the routes and apps alike.
    schemaController: { compilersFactory: { ...requestValidation().compilersFactory, buildSerializer: responseSerialization() } },
    schemaErrorFormatter,
    frameworkErrors: sendFrameworkError,
    // Requests Node's parser could not read, in pairgate's shape (client-errors.ts).
    clientErrorHandler,
    // Refused in pairgate's shape instead (installShutdownRefusal).
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    logController: new RequestLineController(config.PAIRGATE_LOG_LEVEL),
  }).withTypeProvider<TypeBoxTypeProvider>();
  makeChildrenLazy(app.log);

  const engine = new GrantEngine(stores.grants, stores.notifier, clock, new CodeHasher(await loadCodeHashKey(config, stores)));
  const metrics = new ServerMetrics();
  metrics.observe(engine);
  engine.observe({
    // Not the grant's id: some doors' ids are what their clients hold to read them.
    publishFailed: (_change, error, retryInMs) =>
      app.log.warn({ err: error }, retryInMs === undefined ? 'could not tell the other nodes of a grant change; gave up (their waiters read it at their timeout)' : `could not tell the other nodes of a grant change; trying again in ${retryInMs} ms`),
  });
  const waitSlots = new WaitSlots(config.PAIRGATE_WAITS_PER_CLIENT, config.PAIRGATE_WAITS_MAX);
  metrics.observeWaits(() => waitSlots.size);
  if (stores.checkpointFailures) metrics.observeCheckpoints(() => stores.checkpointFailures?.().count ?? 0);
  const codeGuard = new CodeGuard(stores.ephemeral, clock, {
    missesPerHour: config.PAIRGATE_CODE_MISSES_PER_HOUR,
    attemptsPerCode: config.PAIRGATE_CODE_ATTEMPTS_PER_CODE,
  });
  const publicUrl = publicUrlOf(config, options.listenUrl);
  app.decorate('pairgate', { config, engine, stores, metrics, codeGuard, publicUrl });

  const shutdown = new AbortController();
  // Every open wait and stream listens for the shutdown and stops listening when it ends: more than
  // ten at once is the server at work, not the leak Node's warning at eleven listeners suspects.
  setMaxListeners(0, shutdown.signal);
  let shuttingDown = false;
  let idleCloser: NodeJS.Timeout | undefined;
  // `webSockets` below takes the upgrades (see OpenConnections).
  const connections = new OpenConnections(app.server);
  installExpectationRefusal(app.server);
  app.addHook('preClose', async () => {
    shuttingDown = true;
    shutdown.abort();
    // Node's close drops only the connections idle after an answer: one connected and silent, or
    // halfway through a request's headers, held the close for the whole grace period. Every
    // connection with no request in flight is dropped now; one whose answer (a long-poll, an event
    // stream) ends later would stay open as keep-alive and hold the close until its timeout, which
    // a slower store (a network round-trip to PostgreSQL or Redis) makes likely, so they are
    // dropped as they go idle too (a check while closing, rather than a listener on every
    // response while serving).
    // A request whose body stops arriving is refused (endStalledBodies): Node's request timeout,
    // which would have ended it, is no longer checked once the server closes.
    connections.dropIdle();
    const stallMs = bodyStallMs(timeouts.requestTimeout);
    const refusal = (request: IncomingMessage): string => stalledBodyRefusal(app, request);
    idleCloser = setInterval(() => {
      connections.dropIdle();
      // Elapsed time: a wall clock stepped back during the close would hold a stalled body for the step.
      const ended = connections.endStalledBodies(performance.now(), stallMs, refusal);
      // Said, so an operator who sees a client's 503 at a restart can tell why; the count only (a
      // request's path may hold a code).
      if (ended > 0) app.log.warn({ ended, stallMs }, `shutting down: ended ${ended} request(s) whose body made no progress for ${stallMs} ms (answered 503 shutting_down; the client may send it again)`);
    }, IDLE_CLOSE_CHECK_MS);
    idleCloser.unref();
  });
  app.addHook('onClose', async () => clearInterval(idleCloser));

  installErrorHandlers(app);
  // The API is for programs, wherever nothing answers in it too: a 404, 405 or bad_url under /api
  // is JSON with the machine headers (no-store, default-src 'none'), to browsers as well, as its
  // routes' answers are; it had the page headers, and a browser got the 404 page.
  claimPathPrefix(app, '/api', pairgateErrorShape);
  installSecurityHeaders(app);
  installShutdownRefusal(app, () => shuttingDown);
  installRequestFraming(app);
  // Every per-address limit and budget counts by the caller's network (an IPv6 /64, not one of its
  // 2^64 addresses): see publicNetworkOf.
  decorateClientNetwork(app);
  await app.register(rateLimit, {
    global: true,
    keyGenerator: (request) => request.clientNetwork,
    max: config.PAIRGATE_RATE_LIMIT_MAX,
    timeWindow: config.PAIRGATE_RATE_LIMIT_WINDOW_SECONDS * 1000,
    errorResponseBuilder: (_request, context) => new RateLimitedError(Math.max(1, Math.ceil(context.ttl / 1000))),
    // Counts shared by every node (Redis, or the ephemeral store), so a limit holds across them.
    ...sharedRateLimitOptions(stores, clock),
  });
  // Forms are text: their fields are converted to the schema's types, so they are marked (formBody).
  addFormContentTypeParser(app, config.PAIRGATE_BODY_LIMIT);
  // So that the document lists the form beside JSON where a route takes one (addSharedResponses).
  noteRouteScopes(app);
  // Cookies are read on first use, with no hook on any route (cookies.ts).
  installCookies(app);
  // WebSockets only where a door asks for them (acceptWebSockets): see WebSocketUpgrades.
  const webSockets = new WebSocketUpgrades(app.server, (url) => app.errorShapesByPrefix?.shapeOf(url));
  // Only JSON and forms are accepted as bodies: anything else is a clear 415.
  app.removeContentTypeParser('text/plain');
  // A body refused for a __proto__ key is told so, not as "not valid JSON".
  installJsonBodyParser(app);
  // Cookies are Secure when clients reach the server over https (behind a TLS proxy, say).
  const pages = new Pages(publicUrl().startsWith('https:'));
  pages.installStatic(app);
  const markOptionalBodies = installOptionalBodies(app);
  await app.register(swagger, {
    transformObject: markOptionalBodies as never,
    // Every route also lists the answers it gives without its handler deciding them (a body too
    // large, a rate limit, ...), in its own error shape.
    transform: addSharedResponses,
    openapi: {
      openapi: '3.1.0',
      info: { title: 'pairgate', version: packageVersion(), description: `Pairing and authorization server: one grant engine, many doors. ${ROUTER_ANSWERS_DESCRIPTION}` },
      components: { securitySchemes: SECURITY_SCHEMES, responses: ROUTER_RESPONSES },
    },
  });
  await app.register(swaggerUi, docsPageOptions());
  if (config.PAIRGATE_METRICS) installMetrics(app, metrics, config.PAIRGATE_METRICS_TOKEN);
  installHealthRoutes(app, stores, () => shuttingDown);

  const serving = options.doors.filter((door) => !door.enabled || door.enabled(config));
  const context: DoorContext = {
    doors: serving,
    config,
    engine,
    stores,
    codeGuard,
    clock,
    pages,
    logger: app.log,
    publicUrl,
    shutdownSignal: shutdown.signal,
    waitSlots,
    acceptWebSockets: (scope) => webSockets.acceptIn(scope),
    everySweep: doorSweeps(app, { clock, logger: app.log, periodMs: doorSweepPeriodMs(config.PAIRGATE_SWEEP_SECONDS) }),
    useErrorShape(instance, shape, shapeOptions) {
      instance.addHook('onRoute', (route) => {
        route.config = { ...(route.config ?? {}), errorShape: route.config?.errorShape ?? shape };
      });
      for (const prefix of shapeOptions?.pathPrefixes ?? []) claimPathPrefix(instance, prefix, shape);
      for (const prefix of shapeOptions?.linkPrefixes ?? []) claimPathPrefix(instance, prefix, shape, true);
    },
  };
  for (const door of serving) await app.register(async (instance) => door.register(instance, context));
  // After the doors: their routes have taken the guard's per-minute limits (CodeGuard.rateLimit).
  observeCodeLookups(app, codeGuard, metrics, serving, clock);

  const backups = startBackups(config, stores, app.log, {
    copied: (at) => {
      metrics.backups.inc({ outcome: 'ok' });
      metrics.lastBackup.set(at.getTime() / 1000);
    },
    failed: () => metrics.backups.inc({ outcome: 'failed' }),
  });
  if (backups) metrics.startBackups();
  app.addHook('onClose', async () => backups?.stop());
  app.decorate('backups', backups);

  const logged = { checkpointFailures: 0, foreignWrites: 0 };
  const storeWatch = setInterval(() => logStoreProblems(app, stores, logged), config.PAIRGATE_SWEEP_SECONDS * 1000);
  storeWatch.unref();
  app.addHook('onClose', async () => {
    clearInterval(storeWatch);
    engine.close();
  });
  // The server's own sweeps run as the doors' do (`doorSweeps`, at PAIRGATE_SWEEP_SECONDS): a run
  // still going when the next is due (a slow store, a large backlog) is skipped and said, not joined
  // by a second deleting the same rows beside it. Started after the hook above, so that at close
  // their timers stop before the engine closes (onClose hooks run in the reverse of their adding).
  const everyServerSweep = doorSweeps(app, { clock, logger: app.log, periodMs: config.PAIRGATE_SWEEP_SECONDS * 1000 });
  // Counted a batch at a time: a sweep that fails midway (a store gone, a timeout) has deleted the batches before.
  everyServerSweep('grant', () => engine.sweep((counts) => metrics.countExpired(counts)));
  everyServerSweep('ephemeral', (now) => stores.sweepEphemeral(now));
  return app;
}

/** What each refused code look-up's budget is set by, for the warning. */
const LOOKUP_SETTINGS: Readonly<Record<LookupRefusal, string>> = {
  misses_5m: 'PAIRGATE_CODE_MISSES_PER_HOUR (its five-minute share)',
  misses_hour: 'PAIRGATE_CODE_MISSES_PER_HOUR',
  misses_session: 'PAIRGATE_DEVICE_CODE_MISSES_PER_SESSION',
  lookups_at_once: 'PAIRGATE_CODE_MISSES_PER_HOUR (look-ups running at once)',
  lookups_minute: 'PAIRGATE_CODE_LOOKUPS_PER_MINUTE',
};

/**
 * Counts the code guard's misses and refusals (pairgate_code_misses_total,
 * pairgate_code_lookups_refused_total), and warns at most once a minute per door when look-ups are
 * refused for a spent budget: a 429 `rate_limited` alone looked like any rate limit. The line says
 * the door, the budgets and how many were refused; never a code, nor an address (the request lines
 * have those who asked; one line per door covers many).
 */
function observeCodeLookups(app: FastifyInstance, codeGuard: CodeGuard, metrics: ServerMetrics, serving: readonly Door[], clock: Clock): void {
  const scopes = new Map<string, LookupRefusal[]>();
  for (const door of serving) {
    const entry = door.codeScope;
    if (!entry) continue;
    const reasons = new Set([...(scopes.get(entry.scope) ?? []), ...codeGuard.reasons(entry.scope), ...(entry.ownBudgets ?? [])]);
    scopes.set(entry.scope, [...reasons]);
  }
  const warnings = new ThrottledRefusals<LookupRefusal>((door, refused, total) => {
    const reasons = Object.fromEntries(refused);
    const budgets = [...new Set([...refused.keys()].map((reason) => LOOKUP_SETTINGS[reason]))].join(', ');
    app.log.warn(
      { door, refused: total, reasons },
      `code look-ups on ${door}: refused ${total} since the last warning (429 rate_limited; ${[...refused].map(([reason, count]) => `${reason} ${count}`).join(', ')}): ` +
        `a network spent its budget (${budgets}). Someone may be guessing codes; or many people behind one address mistype them, then raise the setting (the start-up check recomputes the brute-force budget). Told at most once a minute.`,
    );
  }, () => clock.now());
  codeGuard.observe(metrics.codeLookups(scopes, (scope, reason) => {
    // Not for look-ups running at once: no budget is spent, they are told to try again in a second.
    if (reason !== 'lookups_at_once') warnings.note(scope, reason);
  }));
}

/**
 * The server's public URL without a trailing slash: the configured one, else the address it
 * listens on once it does, else the configured host and port. Every grant created puts it in its
 * answer's links, so the text is trimmed once per base (the listening address is known only after
 * the app is built), not on every call.
 */
function publicUrlOf(config: Config, listenUrl: (() => string | undefined) | undefined): () => string {
  let base: string | undefined;
  let trimmed = '';
  return () => {
    const current = config.PAIRGATE_PUBLIC_URL || listenUrl?.() || `http://${config.PAIRGATE_HOST}:${config.PAIRGATE_PORT}`;
    if (current !== base) {
      base = current;
      trimmed = current.replace(/\/+$/, '');
    }
    return trimmed;
  };
}

/**
 * Logs what went wrong with the embedded database since the counts in `logged` (at most one line
 * each per sweep), and updates them. A checkpoint that fails leaves the server running, but its
 * WAL grows until one succeeds, so the operator must hear of it before the disk fills; a write by
 * another program has been made good (the stores read their memory again), but whoever made it
 * should stop.
 */
function logStoreProblems(app: FastifyInstance, stores: Stores, logged: { checkpointFailures: number; foreignWrites: number }): void {
  const failures = stores.checkpointFailures?.();
  if (failures && failures.count > logged.checkpointFailures) {
    app.log.warn(
      { failures: failures.count - logged.checkpointFailures, error: failures.lastError },
      'copying the SQLite WAL into the database failed; the WAL grows until it succeeds: check the data folder\'s disk (space, errors)',
    );
    logged.checkpointFailures = failures.count;
  }
  const foreign = stores.foreignWrites?.() ?? 0;
  if (foreign > logged.foreignWrites) {
    app.log.error(
      { times: foreign - logged.foreignWrites },
      'another program wrote to pairgate.db while this server runs; the server has read what it keeps in memory again, but writes made meanwhile may have been answered from stale memory: stop the server before changing its database',
    );
    logged.foreignWrites = foreign;
  }
}
