import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { confirmPairing, connectAgent, SupportOriginClient } from '../../../src/sdk/support.js';
import type { TestApp } from '../../helpers/app.js';
import { ADMIN, ADMIN_AUTH, startOrigin, startRelay } from './helpers.js';

/**
 * A socket whose peer vanished without closing (a laptop put to sleep, a Wi-Fi changed, a NAT that
 * forgot the connection) stays open on the server until TCP notices, which without traffic is
 * never. Simulated here by a client that answers no ping (`autoPong: false`): it reads frames but
 * says nothing back, as a dead peer says nothing.
 */
function silentSocket(url: string, headers: Record<string, string> = {}): Promise<{ socket: WebSocket; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { autoPong: false, headers });
    const closed = new Promise<number>((done) => socket.once('close', (code) => done(code)));
    socket.once('open', () => resolve({ socket, closed }));
    socket.once('error', reject);
  });
}

/** The first message of `socket` matching `match`, as JSON. */
function nextMessage(socket: WebSocket, match: (message: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const onMessage = (data: unknown): void => {
      const message = JSON.parse(String(data)) as Record<string, unknown>;
      if (!match(message)) return;
      socket.off('message', onMessage);
      resolve(message);
    };
    socket.on('message', onMessage);
  });
}

/** Whether `promise` settles within `ms` milliseconds. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('support channel: a peer that vanished without closing', () => {
  let relay: TestApp;
  let origin: TestApp;
  let sdk: SupportOriginClient;
  beforeAll(async () => {
    relay = await startRelay();
    origin = await startOrigin(relay.url, { PAIRGATE_SUPPORT_PING_SECONDS: '1' });
    sdk = new SupportOriginClient({ baseUrl: origin.url, ...ADMIN });
  });
  afterAll(async () => {
    await origin?.close();
    await relay?.close();
  });

  it('an agent socket answering no ping is cut off: the supporter is told it left, and the person\'s agent joins again with its credential', async () => {
    const id = 'agent-vanished';
    const created = await sdk.createSession({ id, supporterName: 'T', supporterAvatar: 'https://img.example/avatar.png' });
    const supporter = await sdk.attach(id);
    await supporter.next((e) => e.type === 'state', 5000);
    const confirmation = await confirmPairing(`${origin.url}/pairing/${created.PairingCode}`);
    const connected = supporter.next((e) => e.type === 'state' && e.state === 'connected');
    const { socket, closed } = await silentSocket(confirmation.MeshServer);
    const welcomed = nextMessage(socket, (m) => m.type === 'welcome' || m.type === 'error');
    socket.send(JSON.stringify({ type: 'hello', credential: confirmation.AgentCredential }));
    expect((await welcomed).type).toBe('welcome');
    await connected;
    // The agent's machine went to sleep: its socket stays open here and answers nothing. It held
    // the session's one agent place for good: the page reopened was told agent_already_connected
    // (and the supporter went on seeing "connected") until the session expired.
    const left = supporter.next((e) => e.type === 'peer_left' && e.peer === 'agent', 8000).then(() => true, () => false);
    expect(await settlesWithin(closed, 8000)).toBe(true);
    expect(await left).toBe(true);
    const again = await connectAgent(confirmation.MeshServer, confirmation.AgentCredential);
    again.close();
    supporter.close();
  }, 30_000);

  it('a supporter socket answering no ping is cut off, and the person is told the supporter left', async () => {
    const id = 'supporter-vanished';
    const created = await sdk.createSession({ id, supporterName: 'T', supporterAvatar: 'https://img.example/avatar.png' });
    const confirmation = await confirmPairing(`${origin.url}/pairing/${created.PairingCode}`);
    const agent = await connectAgent(confirmation.MeshServer, confirmation.AgentCredential);
    const joined = agent.next((e) => e.type === 'peer_joined' && e.peer === 'supporter', 8000);
    // The supporter's machine goes to sleep once attached: its mark was renewed for good, and the
    // person was never told the supporter left.
    const { closed } = await silentSocket(`${origin.url.replace(/^http/, 'ws')}/session/${id}/channel`, { authorization: ADMIN_AUTH });
    await joined;
    const left = agent.next((e) => e.type === 'peer_left' && e.peer === 'supporter', 8000).then(() => true, () => false);
    expect(await settlesWithin(closed, 8000)).toBe(true);
    expect(await left).toBe(true);
    agent.close();
  }, 30_000);
});
