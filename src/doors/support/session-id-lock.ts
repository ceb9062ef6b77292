import { randomId } from '../../core/ids.js';
import type { Clock } from '../../core/clock.js';
import type { EphemeralStore } from '../../store/ports.js';

/** How long a hold lasts at most: a node that died holding it blocks the id this long. */
export const HOLD_MS = 10_000;
/** How long a caller waits for the id while another holds it. */
export const WAIT_MS = 5_000;

/** How long a hold lasts and a caller waits (HOLD_MS, WAIT_MS unless a test makes them short). */
export interface IdLockTimings {
  holdMs?: number;
  waitMs?: number;
}
/** How often a waiting caller tries again. */
const RETRY_MS = 20;

/**
 * One writer at a time of what lives under a session id, across every node: a creation that
 * reclaims the id of an expired session (not swept yet) reads that nothing live holds it, then
 * removes what is there and creates its own; two at once would each remove the other's new
 * session and both report success, and a session's end (which removes what its id holds) could
 * remove a session made under the id between its read and its removal. Holding the id in the
 * ephemeral store (set-if-absent, shared by the nodes) around those read-then-remove steps makes
 * each of them one step for the others.
 */
export class SessionIdLock {
  /** How long a hold lasts at most: by then, a hold of a node that died has lapsed. */
  readonly holdMs: number;
  private readonly waitMs: number;

  constructor(
    private readonly ephemeral: EphemeralStore,
    private readonly clock: Clock,
    timings: IdLockTimings = {},
  ) {
    this.holdMs = timings.holdMs ?? HOLD_MS;
    this.waitMs = timings.waitMs ?? WAIT_MS;
  }

  private static key(grantId: string): string {
    return `support:id-lock|${grantId}`;
  }

  /**
   * Runs `work` while holding session id `grantId`, waiting up to `waitMs` for another holder;
   * `busy()` is thrown when it is still held then.
   */
  async hold<T>(grantId: string, work: () => Promise<T>, busy: () => Error): Promise<T> {
    const key = SessionIdLock.key(grantId);
    const holder = randomId(12);
    // Elapsed time: a wall clock stepped meanwhile neither stretches nor cuts the wait.
    const deadline = performance.now() + this.waitMs;
    while (!(await this.ephemeral.setIfAbsent(key, holder, this.holdMs, this.clock.now()))) {
      if (performance.now() >= deadline) throw busy();
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
    try {
      return await work();
    } finally {
      // Only our own hold goes (after a stall past `holdMs` another may hold the id by now), checked
      // and deleted in one step: between a read and a delete, ours could lapse and another take it.
      await this.ephemeral.deleteIfHeld(key, holder, this.clock.now()).catch(() => undefined);
    }
  }
}
