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
 * Failure budgets (wrong codes, wrong passwords, wrong tokens) that hold under concurrency, on
 * every node. The failure counts live in the ephemeral store; reading a count, trying, then
 * counting a failure is not atomic, so a burst of attempts sent at once would all read the same
 * count and all be let through. Each attempt therefore also counts, as a failure to be, every
 * attempt on the same counter still running on this node when it arrived: those either fail (and
 * will be counted) or succeed. That is every attempt there is on a store no other node shares
 * (SQLite). On a shared store (`EphemeralStore.shared`: Redis, PostgreSQL) the other nodes'
 * attempts are not seen here, so an attempt that passes the check then reserves its failure in the
 * store (an atomic increment; over the limit, it is given back and the attempt refused) and gives
 * it back when it did not fail. One refused only for attempts still running is told to try again
 * in a second, not at the window's end.
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
      if (this.ephemeral.shared) return await this.runReserved(counters, attempt, failed, refuse, now);
      const result = await attempt();
      if (failed(result)) await this.recordFailure(counters);
      return result;
    } finally {
      for (const counter of counters) this.leave(counter.key);
    }
  }

  /**
   * Runs `attempt` on a shared store: its failure is counted on every counter before it runs (so
   * attempts on other nodes see it), and taken back when it does not fail, or throws, or a counter
   * is found over its limit (attempts running elsewhere filled it since the check: `busy`).
   */
  private async runReserved<T>(counters: readonly BudgetCounter[], attempt: () => Promise<T>, failed: (result: T) => boolean, refuse: Refusal, now: number): Promise<T> {
    const reserved: BudgetCounter[] = [];
    try {
      for (const counter of counters) {
        const { count } = await this.ephemeral.increment(counter.key, counter.windowMs ?? this.windowMs, now);
        reserved.push(counter);
        if (count > counter.limit) throw refuse(1, counter, true);
      }
      const result = await attempt();
      // A failure keeps its reservations: they are its count.
      if (failed(result)) reserved.length = 0;
      return result;
    } finally {
      await this.giveBack(reserved);
    }
  }

  /**
   * Takes back the reservations on `counters`. A give-back that fails (the store gone) leaves its
   * reservation counted as a failure, which errs toward refusing until the window ends; the answer
   * of the attempt, already decided, is not replaced by that error.
   */
  private async giveBack(counters: readonly BudgetCounter[]): Promise<void> {
    if (counters.length === 0) return;
    const now = this.clock.now();
    await Promise.all(counters.map((counter) => this.ephemeral.decrement(counter.key, now).catch(() => undefined)));
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
