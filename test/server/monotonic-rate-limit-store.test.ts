import { describe, expect, it } from 'vitest';
import { monotonicRateLimitStore } from '../../src/server/monotonic-rate-limit-store.js';

type Counted = { current: number; ttl: number };

describe('monotonicRateLimitStore (one node\'s rate limits in memory)', () => {
  const counter = (store: { incr: (key: string, done: (error: Error | null, result?: Counted) => void, window: number) => void }) => (key: string, window = 60_000): Counted => {
    let counted: Counted | undefined;
    store.incr(key, (_error, result) => (counted = result), window);
    return counted!;
  };

  it('counts within a window of elapsed time and begins a new one after it', () => {
    let now = 0;
    const Store = monotonicRateLimitStore(() => now);
    const incr = counter(new Store({}) as never);
    expect(incr('a')).toEqual({ current: 1, ttl: 60_000 });
    now = 59_999;
    expect(incr('a')).toEqual({ current: 2, ttl: 1 });
    now = 60_000;
    expect(incr('a')).toEqual({ current: 1, ttl: 60_000 });
  });

  it('forgets the network whose window began first once it remembers too many', () => {
    let now = 0;
    const Store = monotonicRateLimitStore(() => now, 2);
    const incr = counter(new Store({}) as never);
    incr('a');
    incr('a');
    now = 1;
    incr('b');
    // Counting again in a's window does not make it newer: its window still began first.
    incr('a');
    now = 2;
    incr('c');
    expect(incr('b').current).toBe(2);
    expect(incr('c').current).toBe(2);
    expect(incr('a').current).toBe(1);
  });
});
