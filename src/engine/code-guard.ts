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

/**
 * The attempt budget on code look-ups, shared by every door: an address that misses too often is
 * refused for the rest of the hour (on every node, since the counters live in the ephemeral store;
 * exactly, even for guesses sent at once: see FailureBudget), and a code confirmed wrongly too
 * often is burned by its door.
 */
export class CodeGuard {
  readonly budget: FailureBudget;
  /** The counters made lately, by scope and address. */
  private readonly counters = new KeptKeys<BudgetCounter>((scope, address) => ({ key: `miss:${scope}:${address}`, limit: this.limits.missesPerHour }));

  constructor(
    ephemeral: EphemeralStore,
    clock: Clock,
    readonly limits: CodeGuardLimits,
  ) {
    this.budget = new FailureBudget(ephemeral, clock, HOUR_MS);
  }

  /**
   * The counter of `address`'s misses on `scope` (a door or flow), for budgets combining several.
   * The same object for the same address while it is kept: its key is then the same string, which
   * the maps it is looked up in (the attempts running, the ephemeral store's cache) find by
   * identity with the hash V8 keeps on it, where a key built for each look-up is hashed and
   * compared character by character in each (see KeptKeys).
   */
  counter(scope: string, address: string): BudgetCounter {
    return this.counters.get(scope, address);
  }

  /**
   * Runs `lookup` for `address` unless it has spent its misses on `scope` (429), and counts a miss
   * when it finds nothing. A lookup that throws (a malformed code) is not counted.
   */
  lookup<T>(scope: string, address: string, lookup: () => Promise<T | undefined>): Promise<T | undefined> {
    return this.budget.run([this.counter(scope, address)], lookup, (found) => found === undefined, CodeGuard.refusal);
  }

  /** The 429 of an address out of misses. */
  static refusal(retryAfter: number): RateLimitedError {
    return new RateLimitedError(retryAfter, `Too many wrong codes from your address. Try again in ${retryAfter} s.`);
  }

  /** True when a code with `attempts` failed confirmations must be burned. */
  exhausted(attempts: number): boolean {
    return attempts >= this.limits.attemptsPerCode;
  }
}
