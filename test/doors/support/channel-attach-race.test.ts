import { describe, expect, it } from 'vitest';
import { sessionGrantId } from '../../../src/doors/support/session-model.js';
import { ADMIN_AUTH, countTopicListeners, openRecordedSocket, useSupportServers } from './helpers.js';

describe('support channel: a supporter attaching while the session is deleted', () => {
  const servers = useSupportServers();

  it('an upgrade checked just before the session was deleted is ended (4000, `ended`), and no room is left listening', async () => {
    const id = 'deleted-while-attaching';
    const created = await fetch(`${servers.origin.url}/session`, {
      method: 'POST',
      headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ id, supporter_name: 'T', supporter_avatar: 'https://img.example/t.png' }),
    });
    expect(created.status).toBe(201);
    const grantId = sessionGrantId(id);
    const { engine, stores } = servers.origin.app.pairgate;
    // Who listens to the session's bus topic: a room of the channel does while it lives.
    const listeners = countTopicListeners(stores.bus, `support:${grantId}`);
    // The upgrade's check (basic auth, then the session's look-up) finds the session; the session
    // is then deleted, whole, before the upgrade completes and the channel takes the socket.
    const get = engine.get.bind(engine);
    let deleted: Promise<unknown> | undefined;
    engine.get = (async (grant: string) => {
      const found = await get(grant);
      if (grant !== grantId || deleted) return found;
      deleted = fetch(`${servers.origin.url}/session/${id}`, { method: 'DELETE', headers: { authorization: ADMIN_AUTH } }).then((answer) => expect(answer.status).toBe(204));
      await deleted;
      return found;
    }) as typeof engine.get;
    try {
      const { opened, events, closed } = openRecordedSocket(`${servers.origin.url.replace(/^http/, 'ws')}/session/${id}/channel`, { authorization: ADMIN_AUTH });
      await opened;
      expect(deleted).toBeDefined();
      // Before the fix: a fresh room answered `state: expired` and kept the socket open.
      const code = await Promise.race([closed, new Promise((resolve) => setTimeout(() => resolve('still open'), 3000))]);
      expect(code).toBe(4000);
      expect(events).toEqual([{ type: 'ended', reason: 'deleted' }]);
      expect(listeners.count()).toBe(0);
      // No presence mark of that supporter is left behind either.
      for (let i = 0; i < 50 && (await stores.ephemeral.list(`support:supporter|${grantId}|`, Date.now())).length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await stores.ephemeral.list(`support:supporter|${grantId}|`, Date.now())).toEqual([]);
    } finally {
      engine.get = get;
      listeners.restore();
    }
  }, 30_000);
});
