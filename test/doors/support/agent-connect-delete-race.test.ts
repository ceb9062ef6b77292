import { describe, expect, it } from 'vitest';
import { sessionGrantId } from '../../../src/doors/support/session-model.js';
import type { TestApp } from '../../helpers/app.js';
import { postgresMissing } from '../../helpers/services.js';
import { ADMIN_AUTH, confirmedSession, countTopicListeners, expectAgentLeaseGone, openRecordedSocket, useSupportServers, useTwoOriginNodes } from './helpers.js';

/**
 * Creates session `id` on `agentNode`, confirms it and sends the agent's hello. The hello passes
 * every check and marks the session connected: a read, then a compare-and-set write. Between the
 * two, `remove` takes the session away (on another node, whose `ended` comes whenever the bus brings
 * it, or as a session reaching its expiry, which the store stops returning at once): the write finds
 * nothing. The agent must be told `ended` and closed, with no `internal_error` before it and nothing
 * logged as a failure.
 */
async function connectWhileDeleted(agentNode: TestApp, id: string, remove: () => Promise<void>): Promise<void> {
  const { MeshServer, AgentCredential } = await confirmedSession(agentNode, id);
  const grantId = sessionGrantId(id);
  const { engine, stores } = agentNode.app.pairgate;
  const listeners = countTopicListeners(stores.bus, `support:${grantId}`);
  const { opened, events, closed, send } = openRecordedSocket(MeshServer);
  await opened;
  // The hello's one write to the session is the connected mark: the session goes just before it.
  const update = engine.update.bind(engine);
  let removed: Promise<void> | undefined;
  let written: Promise<unknown> | undefined;
  engine.update = (async (grant: string, decide: never) => {
    if (grant !== grantId || removed) return update(grant, decide);
    removed = remove();
    await removed;
    written = update(grant, decide);
    return written;
  }) as typeof engine.update;
  const logsBefore = agentNode.logs.length;
  try {
    send({ type: 'hello', credential: AgentCredential });
    const closeCode = await Promise.race([closed, new Promise((resolve) => setTimeout(() => resolve('still open'), 5000))]);
    expect(removed).toBeDefined();
    // The hello is over (whatever its write did, and what followed from it) before its logs are read.
    await written?.catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Before the fix: `{type: 'error', code: 'internal_error'}` first, and a warning logged.
    expect(events).toEqual([{ type: 'ended', reason: 'deleted' }]);
    expect(closeCode).toBe(4000);
    const failures = agentNode.logs.slice(logsBefore).filter((line) => (JSON.parse(line) as { level: number }).level >= 40);
    expect(failures).toEqual([]);
    for (let i = 0; i < 50 && listeners.count() > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(listeners.count()).toBe(0);
    // The agent's lease went with the socket.
    await expectAgentLeaseGone(stores.ephemeral, grantId);
  } finally {
    engine.update = update;
    listeners.restore();
  }
}

describe('support channel: an agent whose session goes while it is marked connected', () => {
  const servers = useSupportServers();

  it('the session gone from the store between the read and the write (as at its expiry): the agent is told `ended` (4000), no internal_error, nothing logged', async () => {
    const id = 'gone-while-connecting';
    await connectWhileDeleted(servers.origin, id, async () => {
      // Out from under the hub, as a session the store stopped returning (expired) or another node removed.
      expect(await servers.origin.app.pairgate.stores.grants.delete(sessionGrantId(id))).toBe(true);
    });
  }, 30_000);

  it('deleted on this node (DELETE) between the read and the write: told `ended` (4000) once, nothing logged', async () => {
    const id = 'deleted-while-connecting';
    await connectWhileDeleted(servers.origin, id, async () => {
      const answer = await fetch(`${servers.origin.url}/session/${id}`, { method: 'DELETE', headers: { authorization: ADMIN_AUTH } });
      expect(answer.status).toBe(204);
    });
  }, 30_000);
});

if (!(await postgresMissing())) {
  describe('support channel: an agent marked connected on node A while node B deletes the session (two nodes, PostgreSQL)', () => {
    const nodes = useTwoOriginNodes(false);

    it('the agent on A is told `ended` (4000), with no internal_error before B\'s `ended` arrives, and nothing logged', async () => {
      const id = 'deleted-while-connecting-split';
      await connectWhileDeleted(nodes.a, id, async () => {
        const answer = await fetch(`${nodes.b.url}/session/${id}`, { method: 'DELETE', headers: { authorization: ADMIN_AUTH } });
        expect(answer.status).toBe(204);
      });
    }, 30_000);
  });
}
