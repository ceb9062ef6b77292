import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { LOG_KEEP } from '../../../src/doors/support/session-log.js';
import type { TestApp } from '../../helpers/app.js';
import { ADMIN_AUTH, connectedSession, startOrigin, startRelay, upgrade } from './helpers.js';

/** Resolves when `socket` closes, with its close code. */
const closed = (socket: WebSocket): Promise<number> => new Promise((resolve) => socket.once('close', (code) => resolve(code)));

describe('support channel: one side flooding the other', () => {
  let relay: TestApp;
  beforeAll(async () => {
    relay = await startRelay();
  });
  afterAll(async () => {
    await relay?.close();
  });

  it('an agent sending faster than PAIRGATE_SUPPORT_CHANNEL_MESSAGES_PER_SECOND is slowed down: every message arrives, in order, at that pace after a burst', async () => {
    const origin = await startOrigin(relay.url, { PAIRGATE_SUPPORT_CHANNEL_MESSAGES_PER_SECOND: '20' });
    try {
      const { supporter, agent } = await connectedSession(origin, 'paced');
      // A burst of 5 s' worth (100) passes at once; the 60 after it take 3 s at 20 a second.
      const texts = Array.from({ length: 160 }, (_, i) => `line ${i}`);
      const started = Date.now();
      for (const text of texts) agent.say(text);
      const received: string[] = [];
      for (let i = 0; i < texts.length; i++) received.push(String((await supporter.next((e) => e.type === 'message', 20_000)).text));
      expect(received).toEqual(texts);
      expect(Date.now() - started).toBeGreaterThanOrEqual(2_500);
    } finally {
      await origin.close();
    }
  }, 40_000);

  it('the session log keeps the last LOG_KEEP messages, not every message of the session\'s life', async () => {
    const origin = await startOrigin(relay.url, { PAIRGATE_SUPPORT_CHANNEL_MESSAGES_PER_SECOND: '1000' });
    try {
      const { supporter, agent } = await connectedSession(origin, 'logged');
      const count = LOG_KEEP + 100;
      for (let i = 0; i < count; i++) agent.sendDiagnostics({ n: i, filler: 'x'.repeat(1000) });
      for (let i = 0; i < count; i++) await supporter.next((e) => e.type === 'diagnostics', 20_000);
      const logged = await origin.app.pairgate.stores.ephemeral.list('support:log|', Date.now());
      expect(logged.length).toBeLessThanOrEqual(LOG_KEEP);
      expect(logged.length).toBeGreaterThan(0);
    } finally {
      await origin.close();
    }
  }, 60_000);

  it('a supporter socket that reads nothing is cut off once the server holds too much for it; the agent and other supporters carry on', async () => {
    const origin = await startOrigin(relay.url, { PAIRGATE_SUPPORT_CHANNEL_MESSAGES_PER_SECOND: '1000' });
    try {
      const { supporter, agent } = await connectedSession(origin, 'stalled');
      const stalled = await upgrade(`${origin.url.replace(/^http/, 'ws')}/session/stalled/channel`, { headers: { authorization: ADMIN_AUTH } });
      expect(stalled.status).toBe(101);
      const socket = stalled.socket!;
      let reports = 0;
      socket.on('message', (data) => {
        if (String(data).includes('"diagnostics"')) reports++;
      });
      // Reads nothing more: what the server sends it piles up in the kernel's buffers, then the server's.
      socket.pause();
      const whenClosed = closed(socket);
      // 600 reports of 30 KB: 18 MB, well over what the kernel's buffers take on loopback.
      const report = { filler: 'x'.repeat(30_000) };
      const count = 600;
      for (let i = 0; i < count; i++) agent.sendDiagnostics({ ...report, n: i });
      for (let i = 0; i < count; i++) await supporter.next((e) => e.type === 'diagnostics', 30_000);
      socket.resume();
      // Cut off: it closes without getting them all (the server did not keep 18 MB for it). Had the
      // server kept them, they would all arrive now, and the socket stay open.
      const code = await Promise.race([whenClosed, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 10_000))]);
      expect({ closed: code !== undefined, allReceived: reports === count }).toEqual({ closed: true, allReceived: false });
      // The attached supporter and the agent still talk.
      const toAgent = agent.next((e) => e.type === 'message');
      supporter.say('still here');
      expect(await toAgent).toMatchObject({ text: 'still here' });
    } finally {
      await origin.close();
    }
  }, 90_000);
});
