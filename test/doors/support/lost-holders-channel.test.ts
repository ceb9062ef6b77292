import { afterEach, describe, expect, it, vi } from 'vitest';
import { AGENT_LEASE_MS } from '../../../src/doors/support/agent-lease.js';
import { sessionGrantId } from '../../../src/doors/support/session-model.js';
import type { ChannelEvent, SessionChannel } from '../../../src/sdk/support.js';
import type { EphemeralStore } from '../../../src/store/ports.js';
import { connectedSession, useSupportServers } from './helpers.js';

/*
 * Sockets whose hold in the ephemeral store lapsed (their node or its store stalled past the
 * hold's lifetime) and was taken by another holder meanwhile: an agent whose lease another agent
 * took, a supporter whose mark's place another supporter took while every place is taken. Each
 * is cut off, or two agents would talk in one session, and one more supporter than the cap would
 * stay attached without counting.
 */

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Every event `channel` receives from now on. */
function recorded(channel: SessionChannel): ChannelEvent[] {
  const events: ChannelEvent[] = [];
  channel.onEvent((event) => events.push(event));
  return events;
}

/** How `channel` closes. */
function closing(channel: SessionChannel): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => channel.once('close', (closed: { code: number; reason: string }) => resolve(closed)));
}

/**
 * Makes the lease renewals of session `grantId` in `ephemeral` find the lease another agent's:
 * the renewal finds it lapsed (deleted here), and taking it again finds it taken; with `stays`,
 * that other agent still holds it afterwards, else it has given it back by then. Returns the undo.
 */
function stealLease(ephemeral: EphemeralStore, grantId: string, stays: boolean): () => void {
  const key = `support:agent:${grantId}`;
  const { renewIfHeld, setIfAbsent } = ephemeral;
  ephemeral.renewIfHeld = async (k, value, ttlMs, now) => {
    if (k !== key) return renewIfHeld.call(ephemeral, k, value, ttlMs, now);
    await ephemeral.delete(key);
    if (stays) await ephemeral.set(key, 'another-agent', 60_000, now);
    return false;
  };
  ephemeral.setIfAbsent = async (k, value, ttlMs, now) => (k === key ? false : setIfAbsent.call(ephemeral, k, value, ttlMs, now));
  return () => {
    ephemeral.renewIfHeld = renewIfHeld;
    ephemeral.setIfAbsent = setIfAbsent;
  };
}

describe('support channel: an agent whose lease another agent took is cut off', () => {
  const servers = useSupportServers();
  afterEach(() => {
    vi.useRealTimers();
  });

  it('told agent_already_connected and closed 4009; the supporters are not told it left, as the other agent is there', async () => {
    // The lease's renewal runs on a fake interval: a stall past the lease's life is not waited for.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const id = 'lost-lease-held';
    const { supporter, agent } = await connectedSession(servers.origin, id);
    const ephemeral = servers.origin.app.pairgate.stores.ephemeral;
    const seen = recorded(supporter);
    const agentEvents = recorded(agent);
    const closed = closing(agent);
    const undo = stealLease(ephemeral, sessionGrantId(id), true);
    try {
      vi.advanceTimersByTime(AGENT_LEASE_MS / 3);
      expect(await closed).toMatchObject({ code: 4009, reason: 'An agent is already connected to this session.' });
    } finally {
      undo();
    }
    expect(agentEvents).toContainEqual(expect.objectContaining({ type: 'error', code: 'agent_already_connected' }));
    // The other agent's lease stays its own, and the session stays connected (its agent is).
    expect(await ephemeral.get(`support:agent:${sessionGrantId(id)}`, Date.now())).toBe('another-agent');
    await sleep(300);
    expect(seen.filter((e) => e.type === 'peer_left' || e.type === 'state')).toEqual([]);
    expect((await servers.sdk.getSession(id)).State).toBe('connected');
    supporter.close();
  });

  it('when the other agent has given the lease back by the time it closes, the supporters are told the agent left, as for any leave', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const id = 'lost-lease-freed';
    const { supporter, agent } = await connectedSession(servers.origin, id);
    const ephemeral = servers.origin.app.pairgate.stores.ephemeral;
    const closed = closing(agent);
    const left = supporter.next((e) => e.type === 'peer_left', 5000);
    const undo = stealLease(ephemeral, sessionGrantId(id), false);
    try {
      vi.advanceTimersByTime(AGENT_LEASE_MS / 3);
      expect((await closed).code).toBe(4009);
    } finally {
      undo();
    }
    expect(await left).toMatchObject({ type: 'peer_left', peer: 'agent', mayReturn: true });
    expect((await servers.sdk.getSession(id)).State).toBe('confirmed');
    supporter.close();
  });
});

describe('support channel: a supporter whose mark was lost while every place is taken is cut off', () => {
  // Marks last 3 s (renewed every second), one supporter per session.
  const servers = useSupportServers({ PAIRGATE_SUPPORT_PRESENCE_SECONDS: '3', PAIRGATE_SUPPORT_MAX_SUPPORTERS: '1' });

  it('told too_many_supporters and closed 4429 once its renewal finds the one place another\'s', async () => {
    const id = 'lost-mark-full';
    await servers.sdk.createSession({ id, supporterName: 'T', supporterAvatar: 'https://img.example/a.png' });
    const supporter = await servers.sdk.attach(id);
    await supporter.next((e) => e.type === 'state', 5000);
    const events = recorded(supporter);
    const closed = closing(supporter);
    const ephemeral = servers.origin.app.pairgate.stores.ephemeral;
    const prefix = `support:supporter|${sessionGrantId(id)}|`;
    const [mark] = await ephemeral.list(prefix, Date.now());
    expect(mark).toBeDefined();
    // Its mark lapsed (a stall) and a supporter on another node took the place.
    await ephemeral.delete(mark!.key);
    await ephemeral.set(mark!.key, 'another-node', 60_000, Date.now());
    expect(await closed).toMatchObject({ code: 4429, reason: 'too_many_supporters' });
    expect(events).toContainEqual(expect.objectContaining({ type: 'error', code: 'too_many_supporters' }));
    // The other supporter's place stays its own.
    await sleep(200);
    expect((await ephemeral.list(prefix, Date.now())).map((entry) => entry.value)).toEqual(['another-node']);
    await ephemeral.delete(mark!.key);
  });

  it('one whose mark lapsed while its place stayed free stays attached', async () => {
    const id = 'lost-mark-free';
    await servers.sdk.createSession({ id, supporterName: 'T', supporterAvatar: 'https://img.example/a.png' });
    const supporter = await servers.sdk.attach(id);
    await supporter.next((e) => e.type === 'state', 5000);
    const ephemeral = servers.origin.app.pairgate.stores.ephemeral;
    const prefix = `support:supporter|${sessionGrantId(id)}|`;
    const [mark] = await ephemeral.list(prefix, Date.now());
    await ephemeral.delete(mark!.key);
    await expect.poll(async () => (await ephemeral.list(prefix, Date.now())).length, { timeout: 3000, interval: 100 }).toBe(1);
    expect(supporter.open).toBe(true);
    supporter.close();
  });
});
