import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { confirmPairing, connectAgent, SupportOriginClient, type ChannelEvent, type SessionChannel } from '../../../src/sdk/support.js';
import type { TestApp } from '../../helpers/app.js';
import { postgresMissing, redisMissing } from '../../helpers/services.js';
import { sessionGrantId } from '../../../src/doors/support/session-model.js';
import { ADMIN, connectedSession, startOrigin, startRelay, useTwoOriginNodes } from './helpers.js';

const AVATAR = 'https://img.example/avatar.png';

/** Every event `channel` receives from now on. */
function recorded(channel: SessionChannel): ChannelEvent[] {
  const events: ChannelEvent[] = [];
  channel.onEvent((event) => events.push(event));
  return events;
}

describe('support channel: each side is told when the other leaves and comes back (one node)', () => {
  let relay: TestApp;
  let origin: TestApp;
  beforeAll(async () => {
    relay = await startRelay();
    // Presence marks last 3 s here (30 s by default), so their lapse is seen within a test.
    origin = await startOrigin(relay.url, { PAIRGATE_SUPPORT_PRESENCE_SECONDS: '3' });
  });
  afterAll(async () => {
    await origin?.close();
    await relay?.close();
  });

  it('the supporter detaching is told to the agent as peer_left (may return, until the expiry), re-attaching as peer_joined', async () => {
    const { sdk, supporter, agent } = await connectedSession(origin, 'presence-supporter');
    const left = agent.next((e) => e.type === 'peer_left', 5000);
    supporter.close();
    const notice = await left;
    expect(notice).toMatchObject({ type: 'peer_left', peer: 'supporter', mayReturn: true });
    const session = await sdk.getSession('presence-supporter');
    expect(notice.expiresAt).toBe(session.ExpiresAt);

    const back = agent.next((e) => e.type === 'peer_joined', 5000);
    const again = await sdk.attach('presence-supporter');
    expect(await back).toMatchObject({ type: 'peer_joined', peer: 'supporter', first: false });
    again.close();
    await agent.next((e) => e.type === 'peer_left', 5000);
    agent.close();
  });

  it('with two supporters attached, the agent is told peer_left only once the last one detached', async () => {
    const { sdk, supporter, agent } = await connectedSession(origin, 'presence-two');
    const second = await sdk.attach('presence-two');
    await second.next((e) => e.type === 'state');
    const seen = recorded(agent);
    supporter.close();
    // The first leaving is no news to the person: someone is still there.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(seen.filter((e) => e.type === 'peer_left')).toEqual([]);
    const left = agent.next((e) => e.type === 'peer_left', 5000);
    second.close();
    expect(await left).toMatchObject({ peer: 'supporter' });
    agent.close();
  });

  it('a supporter\'s first state comes once its mark is stored, however slow the store (an agent welcomed after it counts it)', async () => {
    const ephemeral = origin.app.pairgate.stores.ephemeral;
    const set = ephemeral.set;
    ephemeral.set = async (...args: Parameters<typeof set>) => {
      if (args[0].startsWith('support:supporter|')) await new Promise((resolve) => setTimeout(resolve, 300));
      return set.apply(ephemeral, args);
    };
    try {
      const sdk = new SupportOriginClient({ baseUrl: origin.url, ...ADMIN });
      await sdk.createSession({ id: 'presence-slow-mark', supporterName: 'T', supporterAvatar: AVATAR });
      const supporter = await sdk.attach('presence-slow-mark');
      await supporter.next((e) => e.type === 'state', 5000);
      expect(await ephemeral.list(`support:supporter|${sessionGrantId('presence-slow-mark')}|`, Date.now())).toHaveLength(1);
      supporter.close();
    } finally {
      ephemeral.set = set;
    }
  });

  it('the welcome says whether a supporter is attached', async () => {
    const { sdk, supporter, agent, meshServer, credential } = await connectedSession(origin, 'presence-welcome');
    expect(agent.welcome).toMatchObject({ type: 'welcome', supporterAttached: true });
    const left = agent.next((e) => e.type === 'peer_left', 5000);
    supporter.close();
    await left;
    agent.close();
    await sdk.waitForState('presence-welcome', ['confirmed'], 5);
    const alone = await connectAgent(meshServer, credential);
    expect(alone.welcome).toMatchObject({ supporterAttached: false });
    const back = alone.next((e) => e.type === 'peer_joined', 5000);
    const again = await sdk.attach('presence-welcome');
    // The person had been with this supporter before their reconnection: a return.
    expect(await back).toMatchObject({ first: false });
    again.close();
    alone.close();
  });

  it('a person who joined alone is told the first supporter attaching as joining (first: true), not as a return; only a real return is', async () => {
    const sdk = new SupportOriginClient({ baseUrl: origin.url, ...ADMIN });
    const created = await sdk.createSession({ id: 'presence-first-supporter', supporterName: 'T', supporterAvatar: AVATAR });
    const confirmation = await confirmPairing(`${origin.url}/pairing/${created.PairingCode}`);
    const agent = await connectAgent(confirmation.MeshServer, confirmation.AgentCredential);
    expect(agent.welcome).toMatchObject({ supporterAttached: false });
    const seen = recorded(agent);
    const joined = agent.next((e) => e.type === 'peer_joined', 5000);
    const supporter = await sdk.attach('presence-first-supporter');
    expect(await joined).toEqual({ type: 'peer_joined', peer: 'supporter', first: true });
    const left = agent.next((e) => e.type === 'peer_left', 5000);
    supporter.close();
    await left;
    const back = agent.next((e) => e.type === 'peer_joined', 5000);
    const again = await sdk.attach('presence-first-supporter');
    expect(await back).toEqual({ type: 'peer_joined', peer: 'supporter', first: false });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(seen.map((e) => e.type)).toEqual(['peer_joined', 'peer_left', 'peer_joined']);
    again.close();
    agent.close();
  });

  it('a supporter whose node died (its mark never removed, no notice on the bus) is told to the person as peer_left once its mark lapses, once', async () => {
    const { supporter, agent } = await connectedSession(origin, 'presence-lapse');
    const seen = recorded(agent);
    // A second supporter on a node that then died: its mark stays until it lapses (3 s here), and
    // no node will ever say it left. (A node cannot be killed inside the test process, so its mark
    // is written as that node would have, with nobody to renew or remove it.)
    await origin.app.pairgate.stores.ephemeral.set(`support:supporter|${sessionGrantId('presence-lapse')}|deadnode`, '1', 3_000, Date.now());
    supporter.close();
    // The supporter here left, but the other still counts: no news yet.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(seen.filter((e) => e.type === 'peer_left')).toEqual([]);
    const left = await agent.next((e) => e.type === 'peer_left', 6000);
    expect(left).toMatchObject({ peer: 'supporter', mayReturn: true });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(seen.filter((e) => e.type === 'peer_left')).toHaveLength(1);
    agent.close();
  }, 15_000);

  it('the agent leaving is told to the supporter as peer_left (may return), coming back as peer_joined', async () => {
    const { supporter, agent, meshServer, credential } = await connectedSession(origin, 'presence-agent');
    const left = supporter.next((e) => e.type === 'peer_left', 5000);
    agent.close();
    expect(await left).toMatchObject({ type: 'peer_left', peer: 'agent', mayReturn: true });
    const back = supporter.next((e) => e.type === 'peer_joined', 5000);
    const again = await connectAgent(meshServer, credential);
    expect(await back).toMatchObject({ type: 'peer_joined', peer: 'agent' });
    again.close();
  });

  it('the agent\'s first connection is no return: the supporter is told the state only; each return is told once as peer_joined', async () => {
    const sdk = new SupportOriginClient({ baseUrl: origin.url, ...ADMIN });
    const created = await sdk.createSession({ id: 'presence-first', supporterName: 'T', supporterAvatar: AVATAR });
    const supporter = await sdk.attach('presence-first');
    const seen = recorded(supporter);
    const confirmation = await confirmPairing(`${origin.url}/pairing/${created.PairingCode}`);
    await supporter.next((e) => e.type === 'state' && e.state === 'confirmed', 5000);
    let agent = await connectAgent(confirmation.MeshServer, confirmation.AgentCredential);
    await supporter.next((e) => e.type === 'state' && e.state === 'connected', 5000);
    for (let round = 0; round < 2; round++) {
      const left = supporter.next((e) => e.type === 'peer_left', 5000);
      agent.close();
      await left;
      const back = supporter.next((e) => e.type === 'peer_joined', 5000);
      agent = await connectAgent(confirmation.MeshServer, confirmation.AgentCredential);
      await back;
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(seen.map((e) => (e.type === 'state' ? e.state : e.type))).toEqual(['waiting', 'confirmed', 'connected', 'confirmed', 'peer_left', 'connected', 'peer_joined', 'confirmed', 'peer_left', 'connected', 'peer_joined']);
    agent.close();
    supporter.close();
  });

  it('a supporter attaching after the agent came back while nobody was attached is told when it leaves and comes back', async () => {
    const { sdk, supporter, agent, meshServer, credential } = await connectedSession(origin, 'presence-reattach');
    const left = supporter.next((e) => e.type === 'peer_left', 5000);
    agent.close();
    await left;
    supporter.close();
    await sdk.waitForState('presence-reattach', ['confirmed'], 5);
    // The agent comes back with nobody attached to see it.
    const again = await connectAgent(meshServer, credential);
    await sdk.waitForState('presence-reattach', ['connected'], 5);
    const later = await sdk.attach('presence-reattach');
    const seen = recorded(later);
    const leftAgain = later.next((e) => e.type === 'peer_left', 5000);
    again.close();
    expect(await leftAgain).toMatchObject({ peer: 'agent', mayReturn: true });
    const back = later.next((e) => e.type === 'peer_joined', 5000);
    const third = await connectAgent(meshServer, credential);
    expect(await back).toMatchObject({ peer: 'agent' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(seen.filter((e) => e.type === 'peer_joined')).toHaveLength(1);
    third.close();
    later.close();
  });

  it('a session the supporter ends is told as ended only, never as the supporter leaving', async () => {
    const { supporter, agent } = await connectedSession(origin, 'presence-ended');
    const seen = recorded(agent);
    const ended = agent.next((e) => e.type === 'ended', 5000);
    supporter.end();
    await ended;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(seen.map((e) => e.type)).toEqual(['ended']);
  });
});

const pgMissing = await postgresMissing();
const noRedis = pgMissing ?? (await redisMissing());

/** Agent on node A, supporter on node B: the notices cross on the bus (PostgreSQL NOTIFY or Redis pub/sub). */
function acrossTwoNodes(name: string, skip: string | undefined, withRedis: boolean): void {
  describe.skipIf(skip)(`support channel: the other side leaving is told across two nodes (${name})`, () => {
    // Presence marks last 3 s, so a dead node's supporters lapse within a test.
    const nodes = useTwoOriginNodes(withRedis, { PAIRGATE_SUPPORT_PRESENCE_SECONDS: '3' });

    it('supporter on B detaches and re-attaches: the agent on A is told both; the agent leaving A is told to B', async () => {
      const onA = new SupportOriginClient({ baseUrl: nodes.a.url, ...ADMIN });
      const onB = new SupportOriginClient({ baseUrl: nodes.b.url, ...ADMIN });
      const created = await onA.createSession({ id: `presence-split-${name}`, supporterName: 'T', supporterAvatar: AVATAR });
      const supporter = await onB.attach(`presence-split-${name}`);
      // Its first state means its mark is stored (on B, in the store both nodes share).
      await supporter.next((e) => e.type === 'state', 5000);
      const connected = supporter.next((e) => e.type === 'state' && e.state === 'connected', 5000);
      const confirmation = await confirmPairing(`${nodes.a.url}/pairing/${created.PairingCode}`);
      const agent = await connectAgent(confirmation.MeshServer, confirmation.AgentCredential);
      await connected;
      expect(agent.welcome).toMatchObject({ supporterAttached: true });

      const left = agent.next((e) => e.type === 'peer_left', 5000);
      supporter.close();
      expect(await left).toMatchObject({ peer: 'supporter', mayReturn: true });
      const back = agent.next((e) => e.type === 'peer_joined', 5000);
      const again = await onB.attach(`presence-split-${name}`);
      expect(await back).toMatchObject({ peer: 'supporter' });

      const agentLeft = again.next((e) => e.type === 'peer_left', 5000);
      agent.close();
      expect(await agentLeft).toMatchObject({ peer: 'agent', mayReturn: true });
      again.close();
    });

    it('a supporter on a node that died: the agent on A is told peer_left once its mark lapses in the shared store', async () => {
      const id = `presence-dead-${name}`;
      const onA = new SupportOriginClient({ baseUrl: nodes.a.url, ...ADMIN });
      const created = await onA.createSession({ id, supporterName: 'T', supporterAvatar: AVATAR });
      const confirmation = await confirmPairing(`${nodes.a.url}/pairing/${created.PairingCode}`);
      const agent = await connectAgent(confirmation.MeshServer, confirmation.AgentCredential);
      expect(agent.welcome).toMatchObject({ supporterAttached: false });
      const seen = recorded(agent);
      // A supporter attached on B, whose node then died: its mark was written (as B does, in the
      // store both nodes share) and announced, and will be neither renewed nor removed.
      const joined = agent.next((e) => e.type === 'peer_joined', 5000);
      await nodes.b.app.pairgate.stores.ephemeral.set(`support:supporter|${sessionGrantId(id)}|deadnode`, '1', 3_000, Date.now());
      await nodes.b.app.pairgate.stores.bus.broadcast(`support:${sessionGrantId(id)}`, JSON.stringify({ kind: 'supporters-changed' }));
      expect(await joined).toMatchObject({ peer: 'supporter', first: true });
      expect(await agent.next((e) => e.type === 'peer_left', 6000)).toMatchObject({ peer: 'supporter', mayReturn: true });
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(seen.map((e) => e.type)).toEqual(['peer_joined', 'peer_left']);
      agent.close();
    }, 15_000);
  });
}

acrossTwoNodes('PostgreSQL', pgMissing, false);
acrossTwoNodes('Redis', noRedis, true);
