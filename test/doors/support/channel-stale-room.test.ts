import { describe, expect, it } from 'vitest';
import { sessionGrantId } from '../../../src/doors/support/session-model.js';
import { connectAgent } from '../../../src/sdk/support.js';
import { postgresMissing } from '../../helpers/services.js';
import { ADMIN_AUTH, openRecordedSocket, postJson, useTwoOriginNodes } from './helpers.js';

/*
 * A room on one node outlives its session while that node has not heard the session's `ended` (the
 * bus is late, or lost it). On one node the end closes its rooms itself, so this takes two nodes:
 * PostgreSQL's NOTIFY. When the id is used again meanwhile (deleted and created again), that room
 * and its sockets belong to the first session and must reach nothing of the second.
 */
if (!(await postgresMissing())) {
  describe('support channel: a room of a deleted session on a node that missed its `ended`, while its id names a new session (two nodes, PostgreSQL)', () => {
    const nodes = useTwoOriginNodes(false);

    it('its supporter\'s message is not logged into the new session, it never sees the new session\'s state, and the new session\'s first change ends it', async () => {
      const id = 'stale-room';
      const grantId = sessionGrantId(id);
      const topic = `support:${grantId}`;
      const create = async () => {
        const created = await postJson(`${nodes.b.url}/session`, { id, supporter_name: 'T', supporter_avatar: 'https://img.example/t.png' }, { authorization: ADMIN_AUTH });
        expect(created.status).toBe(201);
        return ((await created.json()) as { PairingCode: string }).PairingCode;
      };
      await create();
      // Node A will not hear the session's `ended` on the bus (as if NOTIFY came late).
      const bus = nodes.a.app.pairgate.stores.bus;
      const listen = bus.listen.bind(bus);
      bus.listen = (key, listener) => listen(key, (message) => {
        if (key === topic && (JSON.parse(message) as { kind: string }).kind === 'ended') return;
        listener(message);
      });
      try {
        const first = openRecordedSocket(`${nodes.a.url.replace(/^http/, 'ws')}/session/${id}/channel`, { authorization: ADMIN_AUTH });
        await first.opened;
        for (let i = 0; i < 100 && first.events.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
        expect(first.events).toEqual([{ type: 'state', state: 'waiting' }]);
        // B deletes the session and makes a new one under its id; A's room of the first stays.
        const deleted = await fetch(`${nodes.b.url}/session/${id}`, { method: 'DELETE', headers: { authorization: ADMIN_AUTH } });
        expect(deleted.status).toBe(204);
        const code = await create();
        // The first session's supporter speaks: before the fix, logged (and published) as the new session's.
        first.send({ type: 'message', text: 'said to the first session' });
        await new Promise((resolve) => setTimeout(resolve, 300));
        // The new session is confirmed on B: its change reaches A's room of the first, which ends.
        const confirmed = await postJson(`${nodes.b.url}/pairing/${code}/confirm`, { Decision: 'accept' });
        expect(confirmed.status).toBe(200);
        const closeCode = await Promise.race([first.closed, new Promise((resolve) => setTimeout(() => resolve('still open'), 5000))]);
        // Before the fix: told the new session's `confirmed` and kept open.
        expect(first.events).toEqual([{ type: 'state', state: 'waiting' }, { type: 'ended', reason: 'deleted' }]);
        expect(closeCode).toBe(4000);
        const { MeshServer, AgentCredential } = (await confirmed.json()) as { MeshServer: string; AgentCredential: string };
        const agent = await connectAgent(MeshServer, AgentCredential, 'test', { history: true });
        const history = await agent.next((event) => event.type === 'history', 5000);
        expect(history.messages).toEqual([]);
        agent.close();
      } finally {
        bus.listen = listen;
      }
    }, 30_000);
  });
}
