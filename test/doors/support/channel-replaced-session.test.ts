import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionGrantId, type SessionGrant } from '../../../src/doors/support/session-model.js';
import type { TestApp } from '../../helpers/app.js';
import { postgresMissing } from '../../helpers/services.js';
import { ADMIN_AUTH, basicAuth, countTopicListeners, openRecordedSocket, postJson, startOrigin, useSupportServers, useTwoOriginNodes } from './helpers.js';

/*
 * A session's id is the supporter's to choose (`POST /session {"id": ...}`), and "delete it and
 * create a new session" is how one starts over: the same id then names another session. A socket
 * let in for the first (its agent link, its credential, its own login checked) must never be
 * joined to the second, whose room is keyed by the same id.
 */

/** Creates session `id` on `node` (`body` added) and returns its answer. */
async function create(node: TestApp, id: string, body: Record<string, unknown> = {}): Promise<{ AgentConfig: { MeshServer: string }; PairingCode?: string }> {
  const created = await postJson(`${node.url}/session`, { id, supporter_name: 'T', supporter_avatar: 'https://img.example/t.png', ...body }, { authorization: ADMIN_AUTH });
  expect(created.status).toBe(201);
  return (await created.json()) as { AgentConfig: { MeshServer: string }; PairingCode?: string };
}

/** Deletes session `id` on `node`. */
async function remove(node: TestApp, id: string): Promise<void> {
  const answer = await fetch(`${node.url}/session/${id}`, { method: 'DELETE', headers: { authorization: ADMIN_AUTH } });
  expect(answer.status).toBe(204);
}

/** Waits until `count()` is 0 (rooms let go after their last socket), then checks it. */
async function noRoomLeft(count: () => number): Promise<void> {
  for (let i = 0; i < 50 && count() > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  expect(count()).toBe(0);
}

/**
 * Arms `node`'s engine so that the first read of `grantId` from now on finds the session, and the
 * session is then deleted and created again under its id (by `replace`) before that read returns.
 */
function replaceAfterNextRead(node: TestApp, grantId: string, replace: () => Promise<void>): { done: () => Promise<void> | undefined; restore: () => void } {
  const { engine } = node.app.pairgate;
  const get = engine.get.bind(engine);
  let replaced: Promise<void> | undefined;
  engine.get = (async (grant: string) => {
    const found = await get(grant);
    if (grant !== grantId || replaced) return found;
    replaced = replace();
    await replaced;
    return found;
  }) as typeof engine.get;
  return { done: () => replaced, restore: () => void (engine.get = get) };
}

/**
 * Agent side, pairing on: the hello's read finds the first session (confirmed, credential right);
 * it is then deleted and made again on `otherNode` before the hello joins.
 */
async function helloWhileReplaced(agentNode: TestApp, otherNode: TestApp, id: string): Promise<void> {
  const first = await create(agentNode, id);
  const confirmed = await postJson(`${agentNode.url}/pairing/${first.PairingCode}/confirm`, { Decision: 'accept' });
  expect(confirmed.status).toBe(200);
  const { MeshServer, AgentCredential } = (await confirmed.json()) as { MeshServer: string; AgentCredential: string };
  const grantId = sessionGrantId(id);
  const { engine, stores } = agentNode.app.pairgate;
  const listeners = countTopicListeners(stores.bus, `support:${grantId}`);
  const { opened, events, closed, send } = openRecordedSocket(MeshServer);
  await opened;
  // Armed once the upgrade (which read the session too) is done: the next read is the hello's.
  const race = replaceAfterNextRead(agentNode, grantId, async () => {
    await remove(otherNode, id);
    await create(otherNode, id);
  });
  try {
    send({ type: 'hello', credential: AgentCredential });
    const code = await Promise.race([closed, new Promise((resolve) => setTimeout(() => resolve('still open'), 5000))]);
    expect(race.done()).toBeDefined();
    await race.done();
    // Before the fix: welcomed into the second session's room, and that session marked connected.
    expect(events).toEqual([{ type: 'ended', reason: 'deleted' }]);
    expect(code).toBe(4000);
    race.restore();
    const second = (await engine.get(grantId)) as SessionGrant;
    expect(second.result).toBeNull();
    await noRoomLeft(listeners.count);
  } finally {
    race.restore();
    listeners.restore();
  }
}

/**
 * Supporter side: the upgrade's check (basic auth: the first session's own login) finds the first
 * session, which is then deleted and made again on `otherNode` (with another login) before the
 * channel takes the socket.
 */
async function attachWhileReplaced(supporterNode: TestApp, otherNode: TestApp, id: string): Promise<void> {
  await create(supporterNode, id, { username: 'first', password: 'one' });
  const grantId = sessionGrantId(id);
  const { stores } = supporterNode.app.pairgate;
  const listeners = countTopicListeners(stores.bus, `support:${grantId}`);
  const race = replaceAfterNextRead(supporterNode, grantId, async () => {
    await remove(otherNode, id);
    await create(otherNode, id, { username: 'second', password: 'two' });
  });
  try {
    const { opened, events, closed } = openRecordedSocket(`${supporterNode.url.replace(/^http/, 'ws')}/session/${id}/channel`, { authorization: basicAuth('first', 'one') });
    await opened;
    expect(race.done()).toBeDefined();
    const code = await Promise.race([closed, new Promise((resolve) => setTimeout(() => resolve('still open'), 5000))]);
    // Before the fix: attached to the second session (its state `waiting`), with the first one's login.
    expect(events).toEqual([{ type: 'ended', reason: 'deleted' }]);
    expect(code).toBe(4000);
    await noRoomLeft(listeners.count);
  } finally {
    race.restore();
    listeners.restore();
  }
  // The second session is untouched: its own login attaches and sees it waiting.
  const again = openRecordedSocket(`${supporterNode.url.replace(/^http/, 'ws')}/session/${id}/channel`, { authorization: basicAuth('second', 'two') });
  await again.opened;
  for (let i = 0; i < 100 && again.events.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  expect(again.events).toEqual([{ type: 'state', state: 'waiting' }]);
}

describe('support channel: a session deleted and created again under its id while a socket joins', () => {
  const servers = useSupportServers();

  it('an agent hello that checked the first session is ended (4000, `ended`), never joined to the second', async () => {
    await helloWhileReplaced(servers.origin, servers.origin, 'replaced-while-hello');
  }, 30_000);

  it('a supporter upgrade let in by the first session\'s own login is ended (4000, `ended`), never attached to the second', async () => {
    await attachWhileReplaced(servers.origin, servers.origin, 'replaced-while-attaching');
  }, 30_000);
});

describe('support channel, no pairing codes: an agent link of a deleted session', () => {
  let origin: TestApp;
  beforeAll(async () => {
    origin = await startOrigin('');
  });
  afterAll(async () => {
    await origin?.close();
  });

  it('a socket opened with the first session\'s agent link, its hello sent once the id names a new session, is ended, and the new session is not taken', async () => {
    const id = 'replaced-before-hello';
    const first = await create(origin, id);
    const { opened, events, closed, send } = openRecordedSocket(first.AgentConfig.MeshServer);
    await opened;
    // Within the hello time (10 s by default): the supporter starts over under the same id.
    await remove(origin, id);
    await create(origin, id);
    send({ type: 'hello' });
    const code = await Promise.race([closed, new Promise((resolve) => setTimeout(() => resolve('still open'), 5000))]);
    // Before the fix: the old link's agent was welcomed as the new session's agent.
    expect(events).toEqual([{ type: 'ended', reason: 'deleted' }]);
    expect(code).toBe(4000);
    const state = await fetch(`${origin.url}/session/${id}`, { headers: { authorization: ADMIN_AUTH } });
    expect(((await state.json()) as { State: string }).State).toBe('waiting');
  }, 30_000);
});

if (!(await postgresMissing())) {
  describe('support channel: a session deleted and created again on node B while a socket joins on node A (two nodes, PostgreSQL)', () => {
    const nodes = useTwoOriginNodes(false);

    it('the agent hello on A is ended (4000, `ended`), never joined to the second session', async () => {
      await helloWhileReplaced(nodes.a, nodes.b, 'replaced-while-hello-split');
    }, 30_000);

    it('the supporter upgrade on A is ended (4000, `ended`), never attached to the second session', async () => {
      await attachWhileReplaced(nodes.a, nodes.b, 'replaced-while-attaching-split');
    }, 30_000);
  });
}
