import type { Clock } from '../core/clock.js';
import { RateLimitedError } from '../core/errors.js';
import { KeptKeys } from '../core/kept-keys.js';
import type { EphemeralStore } from '../store/ports.js';
import { FailureBudget, type BudgetCounter } from './failure-budget.js';

/**
 * The budget that refused a code look-up (`pairgate_code_lookups_refused_total`'s reason): the
 * address's misses in five minutes or in the hour, a counter a door adds of its own (the device
 * door's per browser session), the look-ups running at once from the address (as many as it has
 * misses left: told to try again in a second), or the look-ups per minute (`rateLimit`).
 */
export type LookupRefusal = 'misses_5m' | 'misses_hour' | 'misses_session' | 'lookups_at_once' | 'lookups_minute';

/** Told of the code look-ups' outcomes (the server's metrics and log), so the engine needs neither. */
export interface CodeGuardObserver {
  /** A look-up on `scope` found no live code, and was counted as a miss. */
  missed(scope: string): void;
  /** A look-up on `scope` was refused by `reason`'s budget. */
  refused(scope: string, reason: LookupRefusal): void;
}

/** The options of a route's per-minute limit on code look-ups (@fastify/rate-limit's route `rateLimit`). */
export interface LookupRateLimit {
  max: number;
  timeWindow: number;
  /** One count for every route of the scope, HEADs included (the server's stores honour it: `groupedRouteLimits`). */
  groupId: string;
  onExceeded: () => void;
}

/** Limits of the code guard. */
export interface CodeGuardLimits {
  /** Failed look-ups per client address per hour before the address is refused. */
  missesPerHour: number;
  /** Wrong confirmations of one code before it is burned. */
  attemptsPerCode: number;
}

const HOUR_MS = 3_600_000;
const FIVE_MINUTES_MS = 300_000;

/**
 * The misses an address may make within five minutes, given its misses per hour: a twelfth of them
 * (five minutes' share of the hour, rounded up), but never fewer than 5 (a person mistyping a few
 * times in a row is not slowed down), and all of them when the hour allows 5 or fewer. The hourly
 * counter alone let an address spend its whole hour within minutes, twice across the end of one
 * window and the start of the next, and a code's brute-force figure assumed a steady rate.
 */
export function missesPerFiveMinutes(missesPerHour: number): number {
  return Math.max(Math.ceil(missesPerHour / 12), Math.min(missesPerHour, 5));
}

/**
 * The attempt budget on code look-ups, shared by every door: an address that misses too often is
 * refused for the rest of the hour, or of the five minutes (on every node, since the counters live
 * in the ephemeral store; exactly, even for guesses sent at once: see FailureBudget), and a code
 * confirmed wrongly too often is burned by its door.
 */
export class CodeGuard {
  readonly budget: FailureBudget;
  /**
   * The counters made lately, by scope and address: the hour's, and the five minutes'
   * (`missesPerFiveMinutes`) unless it allows the whole hour, when it could never bind.
   */
  private readonly kept = new KeptKeys<readonly BudgetCounter[]>((scope, address) => {
    const hourly = { key: `miss:${scope}:${address}`, limit: this.limits.missesPerHour };
    this.made.set(hourly, { scope, reason: 'misses_hour' });
    const share = missesPerFiveMinutes(this.limits.missesPerHour);
    if (share >= hourly.limit) return [hourly];
    const fiveMinutes = { key: `miss5:${scope}:${address}`, limit: share, windowMs: FIVE_MINUTES_MS };
    this.made.set(fiveMinutes, { scope, reason: 'misses_5m' });
    return [hourly, fiveMinutes];
  });
  /** The scope and budget of each counter this guard made (`kept`): what a refusal or a miss is counted under. */
  private readonly made = new WeakMap<BudgetCounter, { scope: string; reason: LookupRefusal }>();
  private observer: CodeGuardObserver | undefined;
  /** The scopes whose routes took the guard's per-minute limit (`rateLimit`). */
  private readonly limited = new Set<string>();

  constructor(
    ephemeral: EphemeralStore,
    clock: Clock,
    readonly limits: CodeGuardLimits,
  ) {
    this.budget = new FailureBudget(ephemeral, clock, HOUR_MS, {
      failed: (counters) => {
        const scope = this.scopeOf(counters);
        if (scope !== undefined) this.observer?.missed(scope);
      },
      refused: (counters, spent, busy) => {
        const scope = this.scopeOf(counters);
        if (scope === undefined) return;
        // A counter the guard did not make is one a door added to the address's (CodeBudget's per session).
        this.observer?.refused(scope, busy ? 'lookups_at_once' : (this.made.get(spent)?.reason ?? 'misses_session'));
      },
    });
  }

  /** Tells `observer` of every miss and refusal from now on (the server's metrics and log). */
  observe(observer: CodeGuardObserver): void {
    this.observer = observer;
  }

  /**
   * The limit of `perMinute` code look-ups per client network for a route of `scope` (its
   * `config.rateLimit`, PAIRGATE_CODE_LOOKUPS_PER_MINUTE): its refusals are counted as
   * `lookups_minute`, apart from the misses' and the server's global limit, which answer the same
   * 429 `rate_limited`. Every route of `scope` counts on one limit (`groupId`): counted per route,
   * a door's look-up, its HEAD and its decisions each allowed `perMinute`, several times the rate
   * the brute-force check at start-up assumes.
   */
  rateLimit(scope: string, perMinute: number): LookupRateLimit {
    this.limited.add(scope);
    return { max: perMinute, timeWindow: 60_000, groupId: `code-lookups:${scope}`, onExceeded: () => this.observer?.refused(scope, 'lookups_minute') };
  }

  /**
   * The budgets of the guard's that can refuse a look-up on `scope`: the hour's misses and the
   * look-ups at once always, the five minutes' when they bind, the look-ups per minute once a
   * route of `scope` took `rateLimit` (so that no series is shown that could never move).
   */
  reasons(scope: string): LookupRefusal[] {
    const reasons: LookupRefusal[] = ['misses_hour', 'lookups_at_once'];
    if (missesPerFiveMinutes(this.limits.missesPerHour) < this.limits.missesPerHour) reasons.push('misses_5m');
    if (this.limited.has(scope)) reasons.push('lookups_minute');
    return reasons;
  }

  /** The scope of the guard's own counters among `counters`; undefined for a budget not on code look-ups. */
  private scopeOf(counters: readonly BudgetCounter[]): string | undefined {
    for (const counter of counters) {
      const made = this.made.get(counter);
      if (made) return made.scope;
    }
    return undefined;
  }

  /**
   * The counters of `address`'s misses on `scope` (a door or flow), for budgets combining several:
   * per hour, and per five minutes. The same objects for the same address while they are kept:
   * their keys are then the same strings, which the maps they are looked up in (the attempts
   * running, the ephemeral store's cache) find by identity with the hash V8 keeps on them, where a
   * key built for each look-up is hashed and compared character by character in each (KeptKeys).
   */
  counters(scope: string, address: string): readonly BudgetCounter[] {
    return this.kept.get(scope, address);
  }

  /**
   * Runs `lookup` for `address` unless it has spent its misses on `scope` (429), and counts a miss
   * when it finds nothing. A lookup that throws (a malformed code) is not counted.
   */
  lookup<T>(scope: string, address: string, lookup: () => Promise<T | undefined>): Promise<T | undefined> {
    return this.budget.run(this.counters(scope, address), lookup, (found) => found === undefined, CodeGuard.refusal);
  }

  /** The 429 of an address out of misses, or (`busy`) with as many look-ups running as it has misses left. */
  static refusal(this: void, retryAfter: number, _spent?: unknown, busy = false): RateLimitedError {
    if (busy) return new RateLimitedError(retryAfter, 'Too many code look-ups at once from your address. Try again in a second.');
    return new RateLimitedError(retryAfter, `Too many wrong codes from your address. Try again in ${retryAfter} s.`);
  }

  /** True when a code with `attempts` failed confirmations must be burned. */
  exhausted(attempts: number): boolean {
    return attempts >= this.limits.attemptsPerCode;
  }
}
