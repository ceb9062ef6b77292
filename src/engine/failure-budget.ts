import type { Clock } from '../core/clock.js';
import { randomId } from '../core/ids.js';
import type { EphemeralStore } from '../store/ports.js';

/**
 * Where the marks of the attempts on `counter` running on every node live (shared stores only).
 * The key's length goes first, so that no counter's marks are listed with another's whose key
 * starts with this one and a `|`.
 */
function runningPrefix(counter: BudgetCounter): string {
  return `running|${counter.key.length}|${counter.key}|`;
}

/**
 * How long an attempt's running mark lives: longer than any attempt runs, and short, so the marks
 * of a node that died mid-attempt (never taken back) stop counting within a minute, not at the end
 * of an hour's window, during which the address would have been told "busy".
 */
const RUNNING_MARK_MS = 60_000;

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
 * attempt on the same counter still running when it arrived: those either fail (and will be
 * counted) or succeed. On a store no other node shares (SQLite) those are the attempts running in
 * this process. On a shared store (`EphemeralStore.shared`: Redis, PostgreSQL) another node's are
 * not seen here, so each attempt first leaves a mark of its own in the store (`running|<key>|<id>`,
 * deleted when it ends, lapsing after RUNNING_MARK_MS if its node dies), then counts the marks and
 * reads the failures: of attempts at once, the last to count sees every mark, and an attempt that
 * fails adds its failure before its mark goes, so a reader never misses it (it may count it twice,
 * which errs toward refusing). One refused only for attempts still running is told to try again in
 * a second, not at the window's end.
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
    if (this.ephemeral.shared) return this.runShared(counters, attempt, failed, refuse);
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

  /**
   * `run` on a shared store: for each counter the attempt leaves its mark, then counts the marks of
   * attempts running (its own included) and reads the failures; it is refused when they are spent,
   * or (`busy`) when failures and attempts running together pass the limit. A failure is counted
   * before the marks go.
   */
  private async runShared<T>(counters: readonly BudgetCounter[], attempt: () => Promise<T>, failed: (result: T) => boolean, refuse: Refusal): Promise<T> {
    const now = this.clock.now();
    const marks: string[] = [];
    try {
      for (const counter of counters) {
        const mark = `${runningPrefix(counter)}${randomId(12)}`;
        await this.ephemeral.set(mark, '1', RUNNING_MARK_MS, now);
        marks.push(mark);
        const running = (await this.ephemeral.list(runningPrefix(counter), now)).length;
        const failures = Number((await this.ephemeral.get(counter.key, now)) ?? 0);
        if (failures >= counter.limit) throw await this.refusal(counter, now, refuse);
        if (failures + running > counter.limit) throw refuse(1, counter, true);
      }
      const result = await attempt();
      if (failed(result)) await this.recordFailure(counters);
      return result;
    } finally {
      await this.removeMarks(marks);
    }
  }

  /**
   * Deletes the running marks `marks`. One that cannot be deleted (the store gone) counts until it
   * lapses (RUNNING_MARK_MS), which errs toward refusing; the answer of the attempt, already
   * decided, is not replaced by that error.
   */
  private async removeMarks(marks: readonly string[]): Promise<void> {
    await Promise.all(marks.map((mark) => this.ephemeral.delete(mark).catch(() => undefined)));
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
