import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { AgentLeases, AGENT_LEASE_MS } from '../../../src/doors/support/agent-lease.js';
import { SessionIdLock } from '../../../src/doors/support/session-id-lock.js';
import { SupporterPresence } from '../../../src/doors/support/supporter-presence.js';
import { randomId } from '../../../src/core/ids.js';
import type { EphemeralStore } from '../../../src/store/ports.js';
import { ephemeralAdapters, type OpenedEphemeral } from '../../store/ephemeral-adapters.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Holders of a key in the ephemeral store whose process stalled past the hold's lifetime (a GC
 * pause, a stopped VM, a slow store) while another holder took the key: the first one's renewal
 * must not take it back (both would believe they hold it), nor its release free the other's.
 */
for (const adapter of await ephemeralAdapters()) describe.skipIf(Boolean(adapter.skip))(`holders that stalled past their hold, ${adapter.name}${adapter.skip ? ` (skipped: ${adapter.skip})` : ''}`, () => {
  let opened: OpenedEphemeral;
  /** The store of the second holder: another node's where the adapter has two. */
  let other: EphemeralStore;
  beforeAll(async () => {
    opened = await adapter.open();
    other = opened.nodes[opened.nodes.length - 1]!;
  });
  afterAll(() => opened?.close());
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a supporter mark that lapsed and was taken by another supporter is neither taken back by its renewal nor freed by its removal', async () => {
    const clock = new ManualClock(Date.now());
    const session = `stalled-${randomId(6)}`;
    const prefix = `support:supporter|${session}|`;
    // One place, so the two supporters want the same slot; marks renewed every 100 ms.
    const first = new SupporterPresence(opened.nodes[0]!, clock, 300, 1);
    const second = new SupporterPresence(other, clock, 300, 1);
    const unmarkFirst = (await first.mark(session))!;
    // The first supporter's node stalls past its mark's lifetime; another supporter takes the place.
    clock.advance(301);
    const unmarkSecond = await second.mark(session);
    expect(unmarkSecond).toBeDefined();
    const [taken] = await other.list(prefix, clock.now());
    expect(taken).toBeDefined();
    // The first node comes back: its renewals run (twice) and find the place another's.
    await sleep(250);
    expect(await opened.nodes[0]!.list(prefix, clock.now())).toEqual([taken]);
    // Its supporter leaves: the other's mark stays.
    await unmarkFirst();
    expect(await other.list(prefix, clock.now())).toEqual([taken]);
    expect(await second.anyAttached(session)).toBe(true);
    await unmarkSecond!();
    expect(await second.anyAttached(session)).toBe(false);
  });

  it('a supporter mark that lapsed while its place stayed free is taken again by its next renewal', async () => {
    const clock = new ManualClock(Date.now());
    const session = `lapsed-${randomId(6)}`;
    const presence = new SupporterPresence(opened.nodes[0]!, clock, 300, 1);
    const unmark = (await presence.mark(session))!;
    clock.advance(301);
    expect(await presence.anyAttached(session)).toBe(false);
    await sleep(150);
    expect(await presence.anyAttached(session)).toBe(true);
    await unmark();
    expect(await presence.anyAttached(session)).toBe(false);
  });

  it('a session-id hold released after it lapsed and another took the id leaves the other\'s hold', async () => {
    const clock = new ManualClock(Date.now());
    const id = `id-${randomId(6)}`;
    const key = `support:id-lock|${id}`;
    const real = opened.nodes[0]!;
    // Just before the first holder's release lands, its hold lapses and another node takes the id
    // (as between a read that still saw the first holder and the delete that followed).
    const overrides: Partial<EphemeralStore> = {
      delete: async (k) => {
        if (k === key) await takenMeanwhile();
        return real.delete(k);
      },
      deleteIfHeld: async (k, value, now) => {
        if (k === key) await takenMeanwhile();
        return real.deleteIfHeld(k, value, now);
      },
    };
    // A proxy, not Object.create: the store's methods must run on the store itself (its write queue).
    const stalling = new Proxy(real, {
      get: (target, name) => {
        const value = (name in overrides ? overrides : target)[name as keyof EphemeralStore];
        return typeof value === 'function' ? value.bind(name in overrides ? overrides : target) : value;
      },
    });
    const takenMeanwhile = async (): Promise<void> => {
      clock.advance(1_001);
      expect(await other.setIfAbsent(key, 'another', 1_000, clock.now())).toBe(true);
    };
    const lock = new SessionIdLock(stalling, clock, { holdMs: 1_000, waitMs: 100 });
    expect(await lock.hold(id, async () => 'done', () => new Error('busy'))).toBe('done');
    expect(await other.get(key, clock.now())).toBe('another');
  });

  it('an agent lease renewed after it lapsed and another agent took it is not taken back, nor freed by its release, and its holder is told', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const clock = new ManualClock(Date.now());
    const session = `agent-${randomId(6)}`;
    const key = `support:agent:${session}`;
    const lost = vi.fn();
    const releaseFirst = (await new AgentLeases(opened.nodes[0]!, clock).acquire(session, lost))!;
    clock.advance(AGENT_LEASE_MS + 1);
    const releaseSecond = await new AgentLeases(other, clock).acquire(session);
    expect(releaseSecond).toBeDefined();
    const holder = await other.get(key, clock.now());
    expect(holder).toBeDefined();
    // Both renewals run: the first agent's finds the lease another's.
    vi.advanceTimersByTime(AGENT_LEASE_MS / 3);
    await sleep(100);
    expect(await other.get(key, clock.now())).toBe(holder);
    expect(lost).toHaveBeenCalledTimes(1);
    releaseFirst();
    await sleep(100);
    expect(await other.get(key, clock.now())).toBe(holder);
    releaseSecond!();
    await sleep(100);
    expect(await other.get(key, clock.now())).toBeUndefined();
  });
});
