import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';

/** Most client networks one limit remembers, as @fastify/rate-limit's own memory store (its `cache` default): the oldest window goes first. */
const REMEMBERED_NETWORKS = 5_000;

/** The monotonic milliseconds of this process: never stepped by NTP, a VM's resume or an operator. */
const monotonicNow = (): number => performance.now();

/** One network's window: its count and when (monotonic ms) it began. */
interface Window {
  count: number;
  startedAt: number;
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
    // Insertion order is the order in which windows began (a window begun again moves to the end):
    // the first is the oldest and is forgotten first. Moved once a window, not on every request: a
    // map's delete and set on each one cost about three times the plugin's own store.
    private readonly windows = new Map<string, Window>();

    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number): void {
      const at = now();
      let window = this.windows.get(key);
      if (!window || at - window.startedAt >= timeWindow) {
        if (window) this.windows.delete(key);
        window = { count: 0, startedAt: at };
        this.windows.set(key, window);
        if (this.windows.size > remembered) this.windows.delete(this.windows.keys().next().value!);
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
