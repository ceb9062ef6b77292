import type {} from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { checkBearerSecret, type BearerRefusal } from './bearer-secret.js';
import type { Clock } from '../core/clock.js';
import type { CodeGuardObserver, LookupRefusal } from '../engine/code-guard.js';
import type { GrantEngine } from '../engine/grant-engine.js';
import { LatencyHistogram } from './latency-histogram.js';
import { RepeatedLines } from './repeated-lines.js';

/** Why a listener closed a connection at once: its cap, or its share for one source network. */
export type ConnectionRefusal = 'limit' | 'network';

/** How often, at most, one door's refusals (code look-ups, creations at the cap) are logged while they go on. */
export const REFUSAL_LOG_INTERVAL_MS = 60_000;

/** Where refusals are told: the app's logger, or anything with its `warn`. */
export interface RefusalLog {
  warn(fields: Record<string, unknown>, message: string): void;
}

/**
 * Refusals counted by door, then reason, and told through `warn`: a door's first at once, then at
 * most once per `REFUSAL_LOG_INTERVAL_MS` with the counts by reason since its last line, never once
 * per refusal (a brute force would fill the log as fast as it guesses).
 */
export class ThrottledRefusals<Reason extends string> {
  /** Refusals not yet told, by door, then reason. */
  private readonly untold = new Map<string, Map<Reason, number>>();
  private readonly lines: RepeatedLines;

  /**
   * @param now - milliseconds: the server's clock, which tests step (one stepped back tells the
   * next refusal at once, `RepeatedLines`).
   */
  constructor(
    private readonly warn: (door: string, refused: ReadonlyMap<Reason, number>, total: number) => void,
    now: () => number,
  ) {
    this.lines = new RepeatedLines(REFUSAL_LOG_INTERVAL_MS, now);
  }

  /** Notes one refusal of `door` for `reason`, and tells it if the door's last line is a minute old. */
  note(door: string, reason: Reason): void {
    let untold = this.untold.get(door);
    if (!untold) this.untold.set(door, (untold = new Map()));
    untold.set(reason, (untold.get(reason) ?? 0) + 1);
    // The counts by reason are kept here; RepeatedLines only decides when a line is due.
    if (this.lines.admit(door) === undefined) return;
    let total = 0;
    for (const count of untold.values()) total += count;
    this.untold.delete(door);
    this.warn(door, untold, total);
  }
}

/** A creation cap of a door, as its warning names it. */
export interface CreationCap {
  /** The setting that sets it (PAIRGATE_MAX_LIVE_CODES). */
  setting: string;
  value: number;
  /** What the operator should do, in a sentence. */
  advice: string;
}

/** The metrics of one server (a registry per app, so tests can build many). */
export class ServerMetrics {
  readonly registry = new Registry();
  /**
   * Grant events counted by door, then event, handed to the counter when metrics are read. Two
   * look-ups by the door's and the event's own strings (whose hashes V8 keeps) rather than one by
   * a key text built for every grant created.
   */
  private readonly grantEvents = new Map<string, Map<string, { door: string; event: string; count: number }>>();
  readonly grants = new Counter({
    name: 'pairgate_grants_total',
    help: 'Grant events by door: created, approved, refused, redeemed, expired.',
    labelNames: ['door', 'event'] as const,
    registers: [this.registry],
    // Counting happens on every new grant: a map increment there, and prom-client's labelled
    // counter (which validates and hashes the labels) only once per scrape.
    collect: () => {
      this.grants.reset();
      for (const events of this.grantEvents.values()) {
        for (const { door, event, count } of events.values()) this.grants.inc({ door, event }, count);
      }
    },
  });
  readonly latency = new LatencyHistogram(
    'pairgate_http_request_duration_seconds',
    'Request latency by route pattern and status.',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
    this.registry,
  );
  /** Where `pairgate_waiting_clients` is read from (`observeWaits`). */
  private waitingNow: () => number = () => 0;
  readonly waiting: Gauge = new Gauge({
    name: 'pairgate_waiting_clients',
    help: 'Clients waiting for a grant change (long-poll and event streams) on this node.',
    registers: [this.registry],
    collect: () => {
      this.waiting.set(this.waitingNow());
    },
  });
  /** Copies of the embedded database (PAIRGATE_BACKUP_DIR), so that an alert can fire when they stop. */
  readonly backups = new Counter({
    name: 'pairgate_backups_total',
    help: 'Copies of the embedded database by outcome (ok, failed).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  /**
   * Shows both outcomes of `pairgate_backups_total` at 0, once copies are scheduled: an alert on
   * increase(...{outcome="failed"}) otherwise saw no series until the first copy, and missed the
   * first failure (a series that first appears at 1 reads as no increase).
   */
  startBackups(): void {
    this.backups.labels('ok').inc(0);
    this.backups.labels('failed').inc(0);
  }
  readonly lastBackup = new Gauge({
    name: 'pairgate_backup_last_success_timestamp_seconds',
    help: 'When the last copy of the embedded database was made (Unix time); 0 before the first.',
    registers: [this.registry],
  });

  /**
   * Connections a listener closed at once, beyond its cap (`limit`: the open-file limit's room for
   * the HTTP listener, PAIRGATE_DNS_MAX_TCP_CONNECTIONS, PAIRGATE_DNS_UPDATE_MAX_CONNECTIONS) or
   * its share for one source network (`network`). The log says so at most once a minute; this
   * counts each, for an alert.
   */
  readonly connectionsRefused = new Counter({
    name: 'pairgate_connections_refused_total',
    help: 'Connections closed at once by a listener (http, dns_tcp, dns_update): beyond its cap (reason=limit) or its share for one source network (reason=network).',
    labelNames: ['listener', 'reason'] as const,
    registers: [this.registry],
  });

  /**
   * A function that counts one connection `listener` refused for `reason`. Each series is shown
   * from the start (at 0, so an alert's rate has a base); a listener without a per-network share
   * (the HTTP listener) gives `reasons` ['limit'], and shows no series that could never move.
   */
  countRefused(listener: 'http' | 'dns_tcp' | 'dns_update', reasons: readonly ConnectionRefusal[] = ['limit', 'network']): (reason: ConnectionRefusal) => void {
    const series = new Map(reasons.map((reason) => [reason, this.connectionsRefused.labels(listener, reason)]));
    // prom-client makes a labelled series only at its first increment: without this one of 0, the
    // series first appeared at 1, and rate() or increase() missed the first burst of refusals.
    for (const child of series.values()) child.inc(0);
    return (reason) => series.get(reason)?.inc();
  }

  /** Code look-ups that found no live code (a wrong code, or one expired or spent): a brute force shows here first. */
  readonly codeMisses = new Counter({
    name: 'pairgate_code_misses_total',
    help: 'Code look-ups that found no live code, by door (the code space, as the door label of pairgate_grants_total: pair, device, support-code).',
    labelNames: ['door'] as const,
    registers: [this.registry],
  });
  /** Code look-ups refused, by the budget that refused them: all answer 429 `rate_limited`, and only this tells them apart. */
  readonly codeLookupsRefused = new Counter({
    name: 'pairgate_code_lookups_refused_total',
    help: 'Code look-ups refused (429 rate_limited) by door and budget: misses_5m and misses_hour (the network\'s wrong codes, PAIRGATE_CODE_MISSES_PER_HOUR), ' +
      'misses_session (the device door\'s per browser session), lookups_at_once (as many running as misses left), lookups_minute (PAIRGATE_CODE_LOOKUPS_PER_MINUTE).',
    labelNames: ['door', 'reason'] as const,
    registers: [this.registry],
  });
  /** Grant creations refused by a door's cap: the answer (429 `rate_limited`) is the one a rate limit gives. */
  readonly creationsRefused = new Counter({
    name: 'pairgate_grant_creations_refused_total',
    help: 'Grant creations refused (429 rate_limited) by door and reason: capacity (the door\'s cap on codes waiting for approval is full).',
    labelNames: ['door', 'reason'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'pairgate_' });
  }

  /**
   * An observer of the code guard that counts its misses and refusals, and hands each refusal to
   * `refused` too (the log). The series of `scopes` (each door's, with the reasons that can refuse
   * there) are shown from the start, at 0, so that rate() and increase() see the first burst.
   */
  codeLookups(scopes: ReadonlyMap<string, readonly LookupRefusal[]>, refused: (scope: string, reason: LookupRefusal) => void): CodeGuardObserver {
    // Children kept, not looked up by labels on every miss: a brute force calls this as fast as it guesses.
    const misses = new Map([...scopes.keys()].map((scope) => [scope, this.codeMisses.labels(scope)]));
    const refusals = new Map([...scopes].map(([scope, reasons]) => [scope, new Map(reasons.map((reason) => [reason, this.codeLookupsRefused.labels(scope, reason)]))]));
    for (const child of misses.values()) child.inc(0);
    for (const children of refusals.values()) for (const child of children.values()) child.inc(0);
    return {
      missed: (scope) => (misses.get(scope) ?? this.codeMisses.labels(scope)).inc(),
      refused: (scope, reason) => {
        (refusals.get(scope)?.get(reason) ?? this.codeLookupsRefused.labels(scope, reason)).inc();
        refused(scope, reason);
      },
    };
  }

  /**
   * A function to call for each creation of `door` refused because its `cap` is full: counts it in
   * `pairgate_grant_creations_refused_total{reason="capacity"}` (at 0 from now, so that an alert's
   * increase() sees the first) and warns through `log` at most once a minute, with the setting to
   * change: the answer itself is a 429 like any rate limit's, and said nothing to the operator.
   */
  capacityRefusal(door: string, cap: CreationCap, log: RefusalLog, clock: Clock): () => void {
    const child = this.creationsRefused.labels(door, 'capacity');
    child.inc(0);
    const warnings = new ThrottledRefusals<'capacity'>((_door, _refused, total) => log.warn(
      { door, refused: total, setting: cap.setting, max: cap.value },
      `${door}: refused ${total} grant creation(s) since the last warning (429 rate_limited): ${cap.value} are waiting for approval, the most ${cap.setting} allows. ${cap.advice} Told at most once a minute.`,
    ), () => clock.now());
    return () => {
      child.inc();
      warnings.note(door, 'capacity');
    };
  }

  /** Reads the waits held open (`WaitSlots.size`) whenever the metrics are collected. */
  observeWaits(count: () => number): void {
    this.waitingNow = count;
  }

  /** Exports the failed checkpoints of the embedded database (`Stores.checkpointFailures`), read at each scrape. */
  observeCheckpoints(failures: () => number): void {
    const counter: Counter = new Counter({
      name: 'pairgate_sqlite_checkpoint_failures_total',
      help: 'Checkpoints of the embedded SQLite database that failed: its WAL grows until one succeeds (a full disk, say).',
      registers: [this.registry],
      collect: () => {
        counter.reset();
        counter.inc(failures());
      },
    });
  }

  /** Counts the engine's grant events. */
  observe(engine: GrantEngine): void {
    engine.observe({
      created: (grant) => this.countGrantEvent(grant.kind, 'created'),
      transitioned: (grant) => this.countGrantEvent(grant.kind, grant.state),
    });
  }

  /** Counts grants the sweeper found expired. */
  countExpired(counts: Record<string, number>): void {
    for (const [door, n] of Object.entries(counts)) this.countGrantEvent(door, 'expired', n);
  }

  private countGrantEvent(door: string, event: string, n = 1): void {
    let events = this.grantEvents.get(door);
    if (!events) this.grantEvents.set(door, (events = new Map()));
    const entry = events.get(event);
    if (entry) entry.count += n;
    else events.set(event, { door, event, count: n });
  }
}

/**
 * Lets a scraper through only with `Authorization: Bearer <PAIRGATE_METRICS_TOKEN>`, with a message
 * naming the key and the header to send, so the operator of a scraper that fails knows what to set.
 */
const METRICS_REFUSAL: BearerRefusal = {
  realm: 'pairgate-metrics',
  code: 'metrics_token_required',
  missing: '/metrics needs the metrics token: send "Authorization: Bearer <token>" with the value of PAIRGATE_METRICS_TOKEN.',
  wrong: 'This is not the metrics token: send "Authorization: Bearer <token>" with the value of PAIRGATE_METRICS_TOKEN.',
};

/** Adds request timing and `GET /metrics` (optionally behind a bearer token). */
export function installMetrics(app: FastifyInstance, metrics: ServerMetrics, token: string): void {
  // A callback hook, not an async one: no promise per request on every route.
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions?.url;
    if (route && route !== '/metrics') {
      metrics.latency.observe(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    }
    done();
  });
  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    if (token) checkBearerSecret(request.headers.authorization, reply, token, METRICS_REFUSAL);
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}
