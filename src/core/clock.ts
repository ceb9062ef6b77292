/** A source of the current time in milliseconds; tests pass a controllable one. */
export interface Clock {
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to; for tests and simulations. */
export class ManualClock implements Clock {
  constructor(private current = 1_700_000_000_000) {}
  now(): number {
    return this.current;
  }
  /** Moves the clock forward by `ms`. */
  advance(ms: number): void {
    this.current += ms;
  }
}

/**
 * How far the clocks of the nodes sharing a store may differ, or a clock be stepped back, before a
 * window is taken as started by a clock that has since gone back. Nodes kept by NTP differ by far
 * less; a window ending up to this much later than its length still holds as stored.
 */
export const CLOCK_STEP_TOLERANCE_MS = 60_000;

/**
 * The latest end a window of `lengthMs` can have at `now` if it began by `now`, give or take the
 * tolerance: one ending later was started by a clock later than this one (`startedLaterThan`).
 * The ephemeral store's increment takes it and restarts such a window in the same atomic step
 * (`EphemeralStore.increment`), so that no count made at that moment on another node is lost.
 */
export function latestWindowEnd(now: number, lengthMs: number): number {
  return now + lengthMs + CLOCK_STEP_TOLERANCE_MS;
}

/**
 * True when a window of `lengthMs` that ends at `endsAt` cannot have begun by `now`: it was
 * started by a clock (this node's, before it was stepped back, or another node's, far ahead) later
 * than this one, and as stored would last the step longer than its length (an hour's budget kept
 * for a day, a Retry-After of a day). It is restarted from `now`, keeping its count.
 */
export function startedLaterThan(now: number, endsAt: number, lengthMs: number): boolean {
  return endsAt > latestWindowEnd(now, lengthMs);
}
