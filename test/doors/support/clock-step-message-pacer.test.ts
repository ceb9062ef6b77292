import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { MessagePacer } from '../../../src/doors/support/message-pacer.js';

// The wall clock stepped back (NTP correcting a clock that ran ahead): only `Date` is faked, which
// is what a step changes; timers and `performance.now()` run on as they do.
const HOUR_MS = 3_600_000;

afterEach(() => {
  vi.useRealTimers();
});

describe('a session channel socket\'s message pace when the wall clock is stepped back', () => {
  it('handles the next message at the pace, not an hour later', async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(server, 'listening');
    const handled: string[] = [];
    server.on('connection', (socket) => {
      new MessagePacer(socket, { perSecond: 5, burst: 2 }, async (data: RawData) => {
        handled.push(String(data));
      }, () => undefined);
    });
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      await once(client, 'open');
      client.send('one');
      client.send('two');
      await vi.waitFor(() => expect(handled).toEqual(['one', 'two']), { timeout: 2_000 });
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() - HOUR_MS });
      client.send('three');
      client.send('four');
      // At 5 a second with the burst spent: both within half a second of elapsed time.
      await vi.waitFor(() => expect(handled).toEqual(['one', 'two', 'three', 'four']), { timeout: 2_000 });
    } finally {
      client.close();
      server.close();
    }
  });
});
