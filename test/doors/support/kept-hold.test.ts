import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { AgentLeases, AGENT_LEASE_MS } from '../../../src/doors/support/agent-lease.js';
import { coreMigrations } from '../../../src/store/migrations/core.js';
import type { EphemeralStore, Stores } from '../../../src/store/ports.js';
import { openSqliteStores } from '../../../src/store/sqlite/sqlite-stores.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A hold kept on a store slower than its renewals (`keepHold`): one renewal runs at a time, so two
 * that each found the hold lapsed never race to take it again, the loser calling it lost.
 */
describe('a hold kept on a slow store', () => {
  let stores: Stores;
  beforeEach(async () => {
    stores = await openSqliteStores({ dataDir: ':memory:', migrations: coreMigrations });
  });
  afterEach(async () => {
    vi.useRealTimers();
    await stores.close();
  });

  it('an agent lease whose renewals outlast their interval, after it lapsed, is taken again once and not told lost', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const clock = new ManualClock(Date.now());
    const real = stores.ephemeral;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let renewals = 0;
    // Renewals wait until the gate opens: a store slower than the renewals' interval.
    const overrides: Partial<EphemeralStore> = {
      renewIfHeld: async (key, value, ttlMs, now) => {
        renewals++;
        await gate;
        return real.renewIfHeld(key, value, ttlMs, now);
      },
    };
    const slow = new Proxy(real, {
      get: (target, name) => {
        const value = (name in overrides ? overrides : target)[name as keyof EphemeralStore];
        return typeof value === 'function' ? value.bind(name in overrides ? overrides : target) : value;
      },
    });
    const lost = vi.fn();
    const release = (await new AgentLeases(slow, clock).acquire('session-slow', lost))!;
    // The lease lapses (nobody takes it); two renewal intervals pass while the first renewal waits.
    clock.advance(AGENT_LEASE_MS + 1);
    vi.advanceTimersByTime(AGENT_LEASE_MS / 3);
    vi.advanceTimersByTime(AGENT_LEASE_MS / 3);
    open();
    await sleep(50);
    expect(renewals).toBe(1);
    expect(lost).not.toHaveBeenCalled();
    expect(await new AgentLeases(real, clock).held('session-slow')).toBe(true);
    release();
    await sleep(50);
    expect(await new AgentLeases(real, clock).held('session-slow')).toBe(false);
  });
});
