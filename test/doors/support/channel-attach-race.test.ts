import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { sessionGrantId } from '../../../src/doors/support/session-model.js';
import type { TestApp } from '../../helpers/app.js';
import { ADMIN_AUTH, startOrigin, startRelay } from './helpers.js';

/**
 * Opens a WebSocket and records, from the start, whether it opened, what it is sent (the first
 * frames may come with the upgrade's answer) and its close code.
 */
function openSocket(url: string, headers: Record<string, string>): { opened: Promise<void>; events: Record<string, unknown>[]; closed: Promise<number> } {
  const socket = new WebSocket(url, { headers });
  const events: Record<string, unknown>[] = [];
  socket.on('message', (data) => events.push(JSON.parse(String(data)) as Record<string, unknown>));
  const opened = new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused: ${response.statusCode}`)));
  });
  socket.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  return { opened, events, closed };
}

describe('support channel: a supporter attaching while the session is deleted', () => {
  let relay: TestApp;
  let origin: TestApp;
  beforeAll(async () => {
    relay = await startRelay();
    origin = await startOrigin(relay.url);
  });
  afterAll(async () => {
    await origin?.close();
    await relay?.close();
  });

  it('an upgrade checked just before the session was deleted is ended (4000, `ended`), and no room is left listening', async () => {
    const id = 'deleted-while-attaching';
    const created = await fetch(`${origin.url}/session`, {
      method: 'POST',
      headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ id, supporter_name: 'T', supporter_avatar: 'https://img.example/t.png' }),
    });
    expect(created.status).toBe(201);
    const grantId = sessionGrantId(id);
    const { engine, stores } = origin.app.pairgate;
    // Who listens to the session's bus topic: a room of the channel does while it lives.
    const topic = `support:${grantId}`;
    let listening = 0;
    const listen = stores.bus.listen.bind(stores.bus);
    stores.bus.listen = (key, listener) => {
      if (key !== topic) return listen(key, listener);
      listening++;
      const unlisten = listen(key, listener);
      let done = false;
      return () => {
        if (!done) listening--;
        done = true;
        unlisten();
      };
    };
    // The upgrade's check (basic auth, then the session's look-up) finds the session; the session
    // is then deleted, whole, before the upgrade completes and the channel takes the socket.
    const get = engine.get.bind(engine);
    let deleted: Promise<unknown> | undefined;
    engine.get = (async (grant: string) => {
      const found = await get(grant);
      if (grant !== grantId || deleted) return found;
      deleted = fetch(`${origin.url}/session/${id}`, { method: 'DELETE', headers: { authorization: ADMIN_AUTH } }).then((answer) => expect(answer.status).toBe(204));
      await deleted;
      return found;
    }) as typeof engine.get;
    try {
      const { opened, events, closed } = openSocket(`${origin.url.replace(/^http/, 'ws')}/session/${id}/channel`, { authorization: ADMIN_AUTH });
      await opened;
      expect(deleted).toBeDefined();
      // Before the fix: a fresh room answered `state: expired` and kept the socket open.
      const code = await Promise.race([closed, new Promise((resolve) => setTimeout(() => resolve('still open'), 3000))]);
      expect(code).toBe(4000);
      expect(events).toEqual([{ type: 'ended', reason: 'deleted' }]);
      expect(listening).toBe(0);
      // No presence mark of that supporter is left behind either.
      for (let i = 0; i < 50 && (await stores.ephemeral.list(`support:supporter|${grantId}|`, Date.now())).length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await stores.ephemeral.list(`support:supporter|${grantId}|`, Date.now())).toEqual([]);
    } finally {
      engine.get = get;
      stores.bus.listen = listen;
    }
  }, 30_000);
});
