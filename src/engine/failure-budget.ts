import type { Clock } from '../core/clock.js';
import type { EphemeralStore } from '../store/ports.js';

/** One budget an attempt is counted against: a key in the ephemeral store and its limit. */
export interface BudgetCounter {
  /** Key of the failure count (what it counts: an address, an account, a session). */
  key: string;
  /** Failures allowed within the window; the next attempt is refused. */
  limit: number;
  /** This counter's window, from its first failure, when not the budget's own (`FailureBudget.windowMs`). */
  windowMs?: number;
}

/**
 * What a refused attempt is told, given the seconds until the spent counter's window ends; `busy`
 * when the counter is not spent, only full of attempts still running (then the wait is a second).
 */
export type Refusal = (retryAfterSeconds: number, spent: BudgetCounter, busy?: boolean) => Error;

/**
 * Failure budgets (wrong codes, wrong passwords, wrong tokens) that hold under concurrency. The
 * failure counts live in the ephemeral store, shared by every node; reading a count, trying, then
 * counting a failure is not atomic, so a burst of attempts sent at once would all read the same
 * count and all be let through. Each attempt therefore also counts, as a failure to be, every
 * attempt on the same counter still running on this node when it arrived: those either fail (and
 * will be counted) or succeed; one refused only for them is told to try again in a second, not at
 * the window's end. One node cannot overshoot a budget; several can by at most the attempts each
 * has running at that instant.
 */
export class FailureBudget {
  /** Attempts running on this node, per counter key. */
  private readonly running = new Map<string, number>();

  constructor(
    private readonly ephemeral: EphemeralStore,
    private readonly clock: Clock,
    /** How long a counter lives from its first failure, unless the counter names its own window. */
    readonly windowMs: number,
  ) {}

  /**
   * Runs `attempt` unless a counter is spent (then throws `refuse(retryAfter)` without running it),
   * and counts a failure on every counter when `failed(result)` says so. An attempt that throws is
   * not counted (a malformed code is not a guess): throw only for input that guesses nothing.
   */
  async run<T>(counters: readonly BudgetCounter[], attempt: () => Promise<T>, failed: (result: T) => boolean, refuse: Refusal): Promise<T> {
    // Taken before the first await, so attempts arriving together see each other.
    const ahead = counters.map((counter) => this.enter(counter.key));
    try {
      // Checked here rather than in a function of its own: every code look-up runs this, and an
      // async function more is a promise and a turn of the microtask queue more on each.
      const now = this.clock.now();
      for (let i = 0; i < counters.length; i++) {
        const failures = Number((await this.ephemeral.get(counters[i]!.key, now)) ?? 0);
        if (failures >= counters[i]!.limit) throw await this.refusal(counters[i]!, now, refuse);
        // Not spent, only full of attempts still running (a burst, or several right codes typed
        // at once behind one NAT): their outcome frees room in a moment, so the wait said is one
        // second, not the window's end (up to an hour for a budget with no failure counted yet).
        if (failures + ahead[i]! >= counters[i]!.limit) throw refuse(1, counters[i]!, true);
      }
      const result = await attempt();
      if (failed(result)) await this.recordFailure(counters);
      return result;
    } finally {
      for (const counter of counters) this.leave(counter.key);
    }
  }

  /** Counts a failure on every counter without an attempt (a check made elsewhere failed). */
  async recordFailure(counters: readonly BudgetCounter[]): Promise<void> {
    const now = this.clock.now();
    for (const counter of counters) await this.ephemeral.increment(counter.key, counter.windowMs ?? this.windowMs, now);
  }

  /** The error `refuse` makes for the spent `counter`, told when its window ends. */
  private async refusal(counter: BudgetCounter, now: number, refuse: Refusal): Promise<Error> {
    // list() matches by prefix: pick the exact key for its reset time.
    const entry = (await this.ephemeral.list(counter.key, now)).find((candidate) => candidate.key === counter.key);
    return refuse(Math.max(1, Math.ceil(((entry?.expiresAt ?? now + (counter.windowMs ?? this.windowMs)) - now) / 1000)), counter);
  }

  /** Registers an attempt on `key`; returns how many were already running. */
  private enter(key: string): number {
    const ahead = this.running.get(key) ?? 0;
    this.running.set(key, ahead + 1);
    return ahead;
  }

  private leave(key: string): void {
    const left = (this.running.get(key) ?? 1) - 1;
    if (left <= 0) this.running.delete(key);
    else this.running.set(key, left);
  }
}
