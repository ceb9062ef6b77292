import { describe, expect, it } from 'vitest';
import { sessionGrantId } from '../../../src/doors/support/session-model.js';
import { confirmPairing, connectAgent, SupportOriginClient } from '../../../src/sdk/support.js';
import { dropPgListeners, dropRedisSubscribers, postgresMissing, redisMissing } from '../../helpers/services.js';
import { ADMIN, chatTranscript, useTwoOriginNodes } from './helpers.js';

const AVATAR = 'https://img.example/avatar.png';
const pgMissing = await postgresMissing();
const noRedis = pgMissing ?? (await redisMissing());

/**
 * A support session whose two sides are connected to different nodes of one deployment: the agent
 * to A, the supporter to B. Messages, the diagnostics report (larger than a NOTIFY payload), state
 * changes and the end cross between the nodes on the message bus and the notifier: PostgreSQL
 * LISTEN/NOTIFY when the nodes share only PostgreSQL, Redis pub/sub when they share Redis.
 */
function twoNodeSession(name: string, skip: string | undefined, withRedis: boolean): void {
  describe.skipIf(skip)(`support session across two nodes (${name})`, () => {
    const nodes = useTwoOriginNodes(withRedis);

    it('agent on A, supporter on B: state, chat both ways, a 20 KB report, and the end reach the other node', async () => {
      const onA = new SupportOriginClient({ baseUrl: nodes.a.url, ...ADMIN });
      const onB = new SupportOriginClient({ baseUrl: nodes.b.url, ...ADMIN });
      const created = await onA.createSession({ id: `split-${name}`, supporterName: 'T', supporterAvatar: AVATAR });
      const supporter = await onB.attach(`split-${name}`);
      expect((await supporter.next((e) => e.type === 'state')).state).toBe('waiting');

      // Confirmed and joined on A; the supporter on B hears of each step.
      const confirmed = supporter.next((e) => e.type === 'state' && e.state === 'confirmed');
      const confirmation = await confirmPairing(`${nodes.a.url}/pairing/${created.PairingCode}`);
      expect(confirmation.MeshServer.startsWith(nodes.a.url.replace(/^http/, 'ws'))).toBe(true);
      await confirmed;
      const connected = supporter.next((e) => e.type === 'state' && e.state === 'connected');
      const agent = await connectAgent(confirmation.MeshServer, confirmation.AgentCredential);
      await connected;

      const toAgent = agent.next((e) => e.type === 'message');
      supporter.say('Hello from node B');
      expect(await toAgent).toMatchObject({ from: 'supporter', text: 'Hello from node B' });
      const toSupporter = supporter.next((e) => e.type === 'message');
      agent.say('Hello from node A: é ü 漢字');
      expect(await toSupporter).toMatchObject({ from: 'agent', text: 'Hello from node A: é ü 漢字' });

      // Larger than PostgreSQL's 8000-byte NOTIFY payload: it must still arrive whole.
      const report = { hostname: 'pc-of-joe', logs: Array.from({ length: 200 }, (_, i) => `line ${i} ${'x'.repeat(80)}`) };
      const diagnostics = supporter.next((e) => e.type === 'diagnostics');
      agent.sendDiagnostics(report);
      expect((await diagnostics).report).toEqual(report);

      // Messages in a burst keep their order.
      const texts = Array.from({ length: 20 }, (_, i) => `burst ${i}`);
      for (const text of texts) agent.say(text);
      const received: string[] = [];
      for (let i = 0; i < texts.length; i++) received.push(String((await supporter.next((e) => e.type === 'message')).text));
      expect(received).toEqual(texts);

      // Ended on B (where the supporter is): the agent on A is told and its socket closes.
      const agentEnded = agent.next((e) => e.type === 'ended');
      const supporterEnded = supporter.next((e) => e.type === 'ended');
      await onB.deleteSession(`split-${name}`);
      expect((await agentEnded).reason).toBe('deleted');
      expect((await supporterEnded).reason).toBe('deleted');
      await expect(onA.getSession(`split-${name}`)).rejects.toMatchObject({ status: 404 });
    }, 30_000);

    it('one agent per session across nodes: a second agent on B is refused while the first is on A, and welcome once it left', async () => {
      const onA = new SupportOriginClient({ baseUrl: nodes.a.url, ...ADMIN });
      const created = await onA.createSession({ id: `one-agent-${name}`, supporterName: 'T', supporterAvatar: AVATAR });
      const confirmation = await confirmPairing(`${nodes.a.url}/pairing/${created.PairingCode}`);
      const onNode = (base: string) => confirmation.MeshServer.replace(nodes.a.url.replace(/^http/, 'ws'), base.replace(/^http/, 'ws'));
      const first = await connectAgent(onNode(nodes.a.url), confirmation.AgentCredential);
      await expect(connectAgent(onNode(nodes.b.url), confirmation.AgentCredential)).rejects.toMatchObject({ code: 'agent_already_connected' });
      await expect(connectAgent(onNode(nodes.a.url), confirmation.AgentCredential)).rejects.toMatchObject({ code: 'agent_already_connected' });
      first.close();
      // The lease goes back when the socket closes; the next agent may come in on the other node.
      let second: Awaited<ReturnType<typeof connectAgent>> | undefined;
      for (let attempt = 0; attempt < 50 && !second; attempt++) {
        second = await connectAgent(onNode(nodes.b.url), confirmation.AgentCredential).catch(async (error: { code?: string }) => {
          if (error.code !== 'agent_already_connected') throw error;
          await new Promise((resolve) => setTimeout(resolve, 100));
          return undefined;
        });
      }
      expect(second).toBeDefined();
      second!.close();
      await onA.deleteSession(`one-agent-${name}`);
    }, 30_000);

    it('ended on B while A was cut from the bus: the agent on A is told once A listens again', async () => {
      const onB = new SupportOriginClient({ baseUrl: nodes.b.url, ...ADMIN });
      const created = await onB.createSession({ id: `cut-${name}`, supporterName: 'T', supporterAvatar: AVATAR });
      const confirmation = await confirmPairing(`${nodes.b.url}/pairing/${created.PairingCode}`);
      const agent = await connectAgent(confirmation.MeshServer.replace(nodes.b.url.replace(/^http/, 'ws'), nodes.a.url.replace(/^http/, 'ws')), confirmation.AgentCredential);
      const ended = agent.next((e) => e.type === 'ended', 20_000);
      // Both nodes' listening connections drop: B's "ended" and the grant's removal never reach A.
      await (withRedis ? dropRedisSubscribers(nodes.redisPrefix) : dropPgListeners(nodes.databaseUrl));
      await onB.deleteSession(`cut-${name}`);
      expect((await ended).reason).toBe('deleted');
    }, 30_000);

    it('chat sent while B was cut from the bus reaches the supporter on B once B listens again, once', async () => {
      const onA = new SupportOriginClient({ baseUrl: nodes.a.url, ...ADMIN });
      const onB = new SupportOriginClient({ baseUrl: nodes.b.url, ...ADMIN });
      const created = await onA.createSession({ id: `missed-${name}`, supporterName: 'T', supporterAvatar: AVATAR });
      const supporter = await onB.attach(`missed-${name}`);
      const confirmation = await confirmPairing(`${nodes.a.url}/pairing/${created.PairingCode}`);
      const connected = supporter.next((e) => e.type === 'state' && e.state === 'connected');
      const agent = await connectAgent(confirmation.MeshServer, confirmation.AgentCredential);
      await connected;
      const before = supporter.next((e) => e.type === 'message');
      agent.say('before the cut');
      expect((await before).text).toBe('before the cut');

      // The listening connections drop; what the agent says now is broadcast to nobody on B.
      await (withRedis ? dropRedisSubscribers(nodes.redisPrefix) : dropPgListeners(nodes.databaseUrl));
      const missed = supporter.next((e) => e.type === 'message', 20_000);
      agent.say('said during the cut');
      expect((await missed).text).toBe('said during the cut');
      // Handed on once: the next message is the next one said, not the replayed one again.
      const after = supporter.next((e) => e.type === 'message');
      agent.say('after the cut');
      expect((await after).text).toBe('after the cut');
      // The log lives as long as the session: ending it deletes what was said.
      const logged = () => nodes.a.app.pairgate.stores.ephemeral.list(`support:log|${sessionGrantId(`missed-${name}`)}|`, Date.now());
      expect(await logged()).toHaveLength(3);
      await onA.deleteSession(`missed-${name}`);
      expect(await logged()).toEqual([]);
    }, 30_000);

    it('an agent rejoining on A with history while the supporter on B keeps talking: every message once, in order', async () => {
      const onB = new SupportOriginClient({ baseUrl: nodes.b.url, ...ADMIN });
      const created = await onB.createSession({ id: `history-${name}`, supporterName: 'T', supporterAvatar: AVATAR });
      const supporter = await onB.attach(`history-${name}`);
      const confirmation = await confirmPairing(`${nodes.a.url}/pairing/${created.PairingCode}`);
      const connected = supporter.next((e) => e.type === 'state' && e.state === 'connected');
      const agent = await connectAgent(confirmation.MeshServer, confirmation.AgentCredential);
      await connected;
      supporter.say('m0');
      await agent.next((e) => e.type === 'message' && e.text === 'm0');
      const disconnected = supporter.next((e) => e.type === 'state' && e.state === 'confirmed');
      agent.close();
      await disconnected;

      // The store and the bus are a network away here: messages land in the log and cross the
      // bus while the joining agent's hello is handled, before and after its history is read.
      const texts = Array.from({ length: 60 }, (_, i) => `m${i + 1}`);
      const joining = connectAgent(confirmation.MeshServer, confirmation.AgentCredential, 'browser', { history: true });
      for (const text of texts) {
        supporter.say(text);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      const again = await joining;
      const transcript = chatTranscript(again);
      await expect.poll(() => transcript.at(-1), { timeout: 10_000 }).toBe('m60');
      expect(transcript).toEqual(['m0', ...texts]);
      again.close();
    }, 30_000);

    it('the agent ends it on A: the supporter on B is told', async () => {
      const onA = new SupportOriginClient({ baseUrl: nodes.a.url, ...ADMIN });
      const onB = new SupportOriginClient({ baseUrl: nodes.b.url, ...ADMIN });
      const created = await onB.createSession({ id: `agent-ends-${name}`, supporterName: 'T', supporterAvatar: AVATAR });
      const supporter = await onB.attach(`agent-ends-${name}`);
      const confirmation = await confirmPairing(`${nodes.b.url}/pairing/${created.PairingCode}`);
      // The same deployment reached through the other node (as a load balancer would send it).
      const agent = await connectAgent(confirmation.MeshServer.replace(nodes.b.url.replace(/^http/, 'ws'), nodes.a.url.replace(/^http/, 'ws')), confirmation.AgentCredential);
      const ended = supporter.next((e) => e.type === 'ended');
      agent.end();
      expect((await ended).reason).toBe('agent');
      await expect(onA.getSession(`agent-ends-${name}`)).rejects.toMatchObject({ status: 404 });
    }, 30_000);
  });
}

twoNodeSession('postgresql', pgMissing, false);
twoNodeSession('redis', noRedis, true);
