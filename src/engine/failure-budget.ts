import { latestWindowEnd, startedLaterThan, type Clock } from '../core/clock.js';
import type { EphemeralStore } from '../store/ports.js';

/**
 * How long a count of attempts running takes new attempts: each count is a key of its own, one per
 * minute (`running|<minute>|<counter key>`), living until the end of the next minute. An attempt is
 * counted in the minute it starts and taken off that very key when it ends; attempts are far
 * shorter than a minute, so those running now are in this minute's count or the one before. A
 * node that dies mid-attempt leaves its count behind two minutes at most.
 */
const RUNNING_MINUTE_MS = 60_000;

/** The key counting the attempts on `counter` that started in `minute`, running on every node (shared stores only). */
function runningKey(counter: BudgetCounter, minute: number): string {
  return `running|${minute}|${counter.key}`;
}

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
 * Told of a budget's outcomes as they happen (the code guard's, for the server's metrics and log),
 * so that the budget knows nothing of what counts them.
 */
export interface BudgetObserver {
  /** An attempt failed, and its failure was counted on `counters`. */
  failed(counters: readonly BudgetCounter[]): void;
  /** An attempt on `counters` was refused for `spent`; `busy` when only for attempts still running. */
  refused(counters: readonly BudgetCounter[], spent: BudgetCounter, busy: boolean): void;
}

/**
 * Failure budgets (wrong codes, wrong passwords, wrong tokens) that hold under concurrency, on
 * every node. The failure counts live in the ephemeral store; reading a count, trying, then
 * counting a failure is not atomic, so a burst of attempts sent at once would all read the same
 * count and all be let through. Each attempt therefore also counts, as a failure to be, every
 * attempt on the same counter still running when it arrived: those either fail (and will be
 * counted) or succeed. On a store no other node shares (SQLite) those are the attempts running in
 * this process. On a shared store (`EphemeralStore.shared`: Redis, PostgreSQL) another node's are
 * not seen here, so each attempt first counts itself as running in the store (an atomic increment
 * of this minute's count, `runningKey`, taken back from that same key when it ends), adds the
 * count of the minute before, then reads the failures: of attempts at once, the increments give
 * each its place, and an attempt that fails adds its failure before it stops counting as running,
 * so a reader never misses it (it may count it twice, which errs toward refusing). Every step is
 * one round trip on one key, whatever the number of attempts running. One refused only for
 * attempts still running is told to try again in a second, not at the window's end.
 */
export class FailureBudget {
  /** Attempts running on this node, per counter key. */
  private readonly running = new Map<string, number>();

  constructor(
    private readonly ephemeral: EphemeralStore,
    private readonly clock: Clock,
    /** How long a counter lives from its first failure, unless the counter names its own window. */
    readonly windowMs: number,
    private readonly observer?: BudgetObserver,
  ) {}

  /**
   * Runs `attempt` unless a counter is spent (then throws `refuse(retryAfter)` without running it),
   * and counts a failure on every counter when `failed(result)` says so. An attempt that throws is
   * not counted (a malformed code is not a guess): throw only for input that guesses nothing.
   */
  async run<T>(counters: readonly BudgetCounter[], attempt: () => Promise<T>, failed: (result: T) => boolean, refuse: Refusal): Promise<T> {
    if (this.ephemeral.shared) return this.runShared(counters, attempt, failed, refuse);
    // Taken before the first await, so attempts arriving together see each other.
    const ahead = counters.map((counter) => this.enter(counter.key));
    try {
      // Checked here rather than in a function of its own: every code look-up runs this, and an
      // async function more is a promise and a turn of the microtask queue more on each.
      const now = this.clock.now();
      for (let i = 0; i < counters.length; i++) {
        const failures = Number((await this.ephemeral.get(counters[i]!.key, now)) ?? 0);
        if (failures >= counters[i]!.limit) throw await this.refusal(counters, counters[i]!, now, refuse);
        // Not spent, only full of attempts still running (a burst, or several right codes typed
        // at once behind one NAT): their outcome frees room in a moment, so the wait said is one
        // second, not the window's end (up to an hour for a budget with no failure counted yet).
        if (failures + ahead[i]! >= counters[i]!.limit) throw this.busy(counters, counters[i]!, refuse);
      }
      const result = await attempt();
      if (failed(result)) await this.countFailed(counters);
      return result;
    } finally {
      for (const counter of counters) this.leave(counter.key);
    }
  }

  /**
   * `run` on a shared store: for each counter the attempt counts itself in this minute's count of
   * attempts running, adds the minute before's, and reads the failures; it is refused when they are
   * spent, or (`busy`) when failures and attempts running together pass the limit. A failure is
   * counted before the attempt stops counting as running.
   */
  private async runShared<T>(counters: readonly BudgetCounter[], attempt: () => Promise<T>, failed: (result: T) => boolean, refuse: Refusal): Promise<T> {
    const now = this.clock.now();
    const minute = Math.floor(now / RUNNING_MINUTE_MS);
    const running: string[] = [];
    try {
      // Two round trips before the attempt whatever the number of counters: the increments, then
      // the reads (each read after its counter's increment, which is all the order needs).
      const counts = await Promise.allSettled(counters.map(async (counter) => {
        const key = runningKey(counter, minute);
        const { count } = await this.ephemeral.increment(key, (minute + 2) * RUNNING_MINUTE_MS - now, now);
        running.push(key);
        return count;
      }));
      const rejected = counts.find((count): count is PromiseRejectedResult => count.status === 'rejected');
      if (rejected) throw rejected.reason;
      const reads = await Promise.all(counters.map((counter) => Promise.all([
        this.ephemeral.get(runningKey(counter, minute - 1), now),
        this.ephemeral.get(counter.key, now),
      ])));
      for (let i = 0; i < counters.length; i++) {
        const counter = counters[i]!;
        const thisMinute = (counts[i] as PromiseFulfilledResult<number>).value;
        const [minuteBefore, failures] = reads[i]!.map((value) => Number(value ?? 0)) as [number, number];
        if (failures >= counter.limit) throw await this.refusal(counters, counter, now, refuse);
        if (failures + thisMinute + minuteBefore > counter.limit) throw this.busy(counters, counter, refuse);
      }
      const result = await attempt();
      if (failed(result)) await this.countFailed(counters);
      return result;
    } finally {
      await this.stopRunning(running);
    }
  }

  /**
   * Takes this attempt off the counts of attempts running (`keys`). One that fails (the store gone)
   * stays counted until its key lapses, two minutes at most, which errs toward refusing; the answer
   * of the attempt, already decided, is not replaced by that error.
   */
  private async stopRunning(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    const now = this.clock.now();
    await Promise.all(keys.map((key) => this.ephemeral.decrement(key, now).catch(() => undefined)));
  }

  /** Counts a failure on every counter without an attempt (a check made elsewhere failed). */
  async recordFailure(counters: readonly BudgetCounter[]): Promise<void> {
    const now = this.clock.now();
    for (const counter of counters) {
      // A window opened by a clock since stepped back (or another node's, far ahead) is restarted
      // from now by the increment itself, its failures kept (`latestWindowEnd`).
      const windowMs = counter.windowMs ?? this.windowMs;
      await this.ephemeral.increment(counter.key, windowMs, now, latestWindowEnd(now, windowMs));
    }
  }

  /** Counts the failure of an attempt `run` made, and tells the observer once it is counted. */
  private async countFailed(counters: readonly BudgetCounter[]): Promise<void> {
    await this.recordFailure(counters);
    this.observer?.failed(counters);
  }

  /**
   * The error `refuse` makes for the spent `counter` (one of `counters`), told when its window ends.
   * A window ending later than its length from now was started by a clock since stepped back (or
   * another node's, far ahead): it is restarted from now with its failures, so an address is never
   * refused for longer than the window (not the hour plus a day of a clock set back a day).
   */
  private async refusal(counters: readonly BudgetCounter[], counter: BudgetCounter, now: number, refuse: Refusal): Promise<Error> {
    const windowMs = counter.windowMs ?? this.windowMs;
    // list() matches by prefix: pick the exact key for its reset time.
    const entry = (await this.ephemeral.list(counter.key, now)).find((candidate) => candidate.key === counter.key);
    let endsAt = entry?.expiresAt ?? now + windowMs;
    if (entry && startedLaterThan(now, entry.expiresAt, windowMs)) endsAt = await this.restart(counter.key, windowMs, now);
    this.observer?.refused(counters, counter, false);
    return refuse(Math.max(1, Math.ceil((endsAt - now) / 1000)), counter);
  }

  /**
   * Restarts from `now` the spent counter `key`, whose window a clock later than this one opened;
   * returns its new end. The store's increment moves the end in the same atomic step as it counts,
   * so the failures other nodes count at that moment are all kept (a read then a set of the count
   * read lost them); the one it adds for this refused attempt is taken back at once. Meanwhile the
   * counter reads one more, which changes nothing: spent, it refuses either way. A give-back that
   * fails (the store gone) leaves it, which errs toward refusing.
   */
  private async restart(key: string, windowMs: number, now: number): Promise<number> {
    const { resetAt } = await this.ephemeral.increment(key, windowMs, now, latestWindowEnd(now, windowMs));
    await this.ephemeral.decrement(key, now).catch(() => undefined);
    return resetAt;
  }

  /** The error `refuse` makes for `counter` (one of `counters`), full only of attempts still running: try again in a second. */
  private busy(counters: readonly BudgetCounter[], counter: BudgetCounter, refuse: Refusal): Error {
    this.observer?.refused(counters, counter, true);
    return refuse(1, counter, true);
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
