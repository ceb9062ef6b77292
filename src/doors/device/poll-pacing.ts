import type { Clock } from '../../core/clock.js';
import type { EphemeralStore } from '../../store/ports.js';
import { OAuthError } from './oauth-errors.js';

/** RFC 8628 §3.5: each slow_down adds 5 seconds to the interval of that authorization. */
export const SLOW_DOWN_STEP_SECONDS = 5;
/** The interval never grows past this: a client that ignores slow_down gains nothing by it either way. */
export const MAX_INTERVAL_SECONDS = 120;
/**
 * A poll arriving this much early still counts as on time: a client that waits `interval` seconds
 * between polls can see its requests arrive a little closer together (timer jitter, a connection
 * that was slow the first time and quick the next).
 */
const EARLY_TOLERANCE_MS = 250;

/**
 * The pace of token polls of pending authorizations, in the ephemeral store so that every node
 * sees the same figures: a marker lives for `interval` after each accepted poll (a poll that
 * finds it is too early), and a counter of slow_down answers makes the interval of that
 * authorization grow. Both are atomic store operations, so concurrent polls cannot all pass.
 */
export class PollPacing {
  constructor(
    private readonly ephemeral: EphemeralStore,
    private readonly clock: Clock,
    private readonly baseIntervalSeconds: number,
  ) {}

  private static pollKey(grantId: string): string {
    return `device:poll:${grantId}`;
  }

  private static slowKey(grantId: string): string {
    return `device:slow:${grantId}`;
  }

  private intervalFor(slowDowns: number): number {
    return Math.min(MAX_INTERVAL_SECONDS, this.baseIntervalSeconds + SLOW_DOWN_STEP_SECONDS * slowDowns);
  }

  /** The current interval of grant `grantId` in seconds. */
  async interval(grantId: string): Promise<number> {
    return this.intervalFor(Number((await this.ephemeral.get(PollPacing.slowKey(grantId), this.clock.now())) ?? 0));
  }

  /**
   * Records a poll of pending grant `grantId` (which expires at `expiresAt`). A poll sooner than the
   * interval after the last accepted one throws 400 `slow_down` with the grown interval; the
   * interval then counts from this poll.
   */
  async check(grantId: string, expiresAt: number): Promise<void> {
    const now = this.clock.now();
    const interval = await this.interval(grantId);
    if (await this.ephemeral.setIfAbsent(PollPacing.pollKey(grantId), String(now), interval * 1000 - EARLY_TOLERANCE_MS, now)) return;
    const { count } = await this.ephemeral.increment(PollPacing.slowKey(grantId), Math.max(1, expiresAt - now) + 60_000, now);
    const grown = this.intervalFor(count);
    await this.ephemeral.set(PollPacing.pollKey(grantId), String(now), grown * 1000 - EARLY_TOLERANCE_MS, now);
    throw new OAuthError('slow_down', `Polling too fast: wait at least ${grown} seconds between token requests.`, 400, { interval: grown });
  }
}
