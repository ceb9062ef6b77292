import type { Clock } from '../core/clock.js';
import { RateLimitedError } from '../core/errors.js';
import type { EphemeralStore } from '../store/ports.js';

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
 * refused for the rest of the hour (on every node, since the counters live in the ephemeral store),
 * and a code confirmed wrongly too often is burned by its door.
 */
export class CodeGuard {
  constructor(
    private readonly ephemeral: EphemeralStore,
    private readonly clock: Clock,
    readonly limits: CodeGuardLimits,
  ) {}

  private key(scope: string, address: string): string {
    return `miss:${scope}:${address}`;
  }

  /** Throws a 429 when `address` has spent its misses on `scope` (a door or flow). */
  async assertAllowed(scope: string, address: string): Promise<void> {
    const now = this.clock.now();
    const entries = await this.ephemeral.get(this.key(scope, address), now);
    if (entries !== undefined && Number(entries) >= this.limits.missesPerHour) {
      const [entry] = await this.ephemeral.list(this.key(scope, address), now);
      const retryAfter = Math.max(1, Math.ceil(((entry?.expiresAt ?? now + HOUR_MS) - now) / 1000));
      throw new RateLimitedError(retryAfter, `Too many wrong codes from your address. Try again in ${retryAfter} s.`);
    }
  }

  /** Counts a miss by `address` on `scope`. */
  async recordMiss(scope: string, address: string): Promise<void> {
    await this.ephemeral.increment(this.key(scope, address), HOUR_MS, this.clock.now());
  }

  /** True when a code with `attempts` failed confirmations must be burned. */
  exhausted(attempts: number): boolean {
    return attempts >= this.limits.attemptsPerCode;
  }
}
