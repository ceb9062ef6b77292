import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';

/** Most client networks one limit remembers, as @fastify/rate-limit's own memory store (its `cache` default): the least recently used goes first. */
const REMEMBERED_NETWORKS = 5_000;

/** The monotonic milliseconds of this process: never stepped by NTP, a VM's resume or an operator. */
const monotonicNow = (): number => performance.now();

/** One network's window: its count, when (monotonic ms) it began, and when it was last moved to the newest end (`tick`). */
interface Window {
  count: number;
  startedAt: number;
  movedAt: number;
}

/**
 * A @fastify/rate-limit store in process memory (one node, no shared store) whose windows are
 * measured on the monotonic clock. The plugin's own memory store measures them with `Date.now()`:
 * a wall clock stepped back by an hour (NTP correcting a clock that ran ahead) left every window
 * open that hour more, counting on and answering a Retry-After of an hour and more, and a clock
 * stepped forward ended them all at once. A window here lasts its length of elapsed time, whatever
 * the wall clock does. `now` is for tests.
 */
export function monotonicRateLimitStore(now: () => number = monotonicNow, remembered = REMEMBERED_NETWORKS): FastifyRateLimitStoreCtor {
  class MonotonicRateLimitStore implements FastifyRateLimitStore {
    // Insertion order is nearly the order of last use, and the first is forgotten first, so a
    // network that keeps sending keeps its count however many others come (as with the plugin's
    // least-recently-used store). An entry used is moved to the newest end only once it has fallen
    // a quarter of the way back (`tick` counts the moves): a map's delete and set on every request
    // cost about three times the plugin's own store, and one used at least once every three
    // quarters of `remembered` new windows is never forgotten all the same.
    private readonly windows = new Map<string, Window>();
    private tick = 0;

    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number): void {
      const at = now();
      let window = this.windows.get(key);
      if (!window || at - window.startedAt >= timeWindow) {
        if (window) this.windows.delete(key);
        window = { count: 0, startedAt: at, movedAt: ++this.tick };
        this.windows.set(key, window);
        if (this.windows.size > remembered) this.windows.delete(this.windows.keys().next().value!);
      } else if (this.tick - window.movedAt > remembered / 4) {
        this.windows.delete(key);
        window.movedAt = ++this.tick;
        this.windows.set(key, window);
      }
      window.count++;
      callback(null, { current: window.count, ttl: Math.max(0, timeWindow - (at - window.startedAt)) });
    }

    /** The count and time left of `key`'s window, without counting (the plugin's `{ increment: false }`). */
    read(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number): void {
      const window = this.windows.get(key);
      const elapsed = window ? now() - window.startedAt : timeWindow;
      if (!window || elapsed >= timeWindow) callback(null, { current: 0, ttl: 0 });
      else callback(null, { current: window.count, ttl: timeWindow - elapsed });
    }

    // Each route with a limit of its own counts apart, as with the plugin's own store.
    child(): FastifyRateLimitStore {
      return new MonotonicRateLimitStore();
    }
  }
  return MonotonicRateLimitStore as unknown as FastifyRateLimitStoreCtor;
}
