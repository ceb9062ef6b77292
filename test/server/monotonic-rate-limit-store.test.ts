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

  it('forgets the network used least recently once it remembers too many', () => {
    const Store = monotonicRateLimitStore(() => 0, 2);
    const incr = counter(new Store({}) as never);
    incr('a');
    incr('b');
    incr('a');
    // c comes: b, used before a's last request, goes.
    incr('c');
    expect(incr('a').current).toBe(3);
    expect(incr('c').current).toBe(2);
    expect(incr('b').current).toBe(1);
  });

  it('keeps the count of a network that keeps sending while many others come and go', () => {
    const Store = monotonicRateLimitStore(() => 0, 40);
    const incr = counter(new Store({}) as never);
    let sent = 0;
    for (let other = 0; other < 1_000; other++) {
      incr(`other-${other}`);
      sent = incr('busy').current;
    }
    expect(sent).toBe(1_000);
    // A network that stopped sending is forgotten (the store holds 40).
    expect(incr('other-0').current).toBe(1);
  });
});
