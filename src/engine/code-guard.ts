import type { Clock } from '../core/clock.js';
import { RateLimitedError } from '../core/errors.js';
import { KeptKeys } from '../core/kept-keys.js';
import type { EphemeralStore } from '../store/ports.js';
import { FailureBudget, type BudgetCounter } from './failure-budget.js';

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
    const share = missesPerFiveMinutes(this.limits.missesPerHour);
    return share < hourly.limit ? [hourly, { key: `miss5:${scope}:${address}`, limit: share, windowMs: FIVE_MINUTES_MS }] : [hourly];
  });

  constructor(
    ephemeral: EphemeralStore,
    clock: Clock,
    readonly limits: CodeGuardLimits,
  ) {
    this.budget = new FailureBudget(ephemeral, clock, HOUR_MS);
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
