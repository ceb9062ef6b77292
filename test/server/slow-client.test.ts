import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { requestTimeouts } from '../../src/server/request-timeouts.js';

describe('how often late requests are looked for', () => {
  it('is every tenth of the timeout, at most every second, so a request runs over it by 10% at most', () => {
    for (const seconds of [1, 2, 5, 10, 30, 60, 3600]) {
      const { requestTimeout, http } = requestTimeouts(seconds);
      expect(requestTimeout).toBe(seconds * 1000);
      // Node finds a late request at its next check: a quarter of 30 s let one run to 37.5 s.
      expect(http.connectionsCheckingInterval, `${seconds} s`).toBeLessThanOrEqual(Math.min(1_000, requestTimeout / 10));
      expect(http.connectionsCheckingInterval, `${seconds} s`).toBeGreaterThanOrEqual(100);
    }
  });
});

/**
 * Slow clients (slowloris): a client that sends its request a little at a time must not hold a
 * connection for ever. With PAIRGATE_REQUEST_TIMEOUT_SECONDS=1 the server answers 408 and hangs up
 * on a request still incomplete after a second, while answers that take longer (a long-poll) are
 * not cut.
 */
describe('request timeout (real sockets)', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_REQUEST_TIMEOUT_SECONDS: '1' });
    port = Number(new URL(await t.listen()).port);
  });
  afterAll(() => t.close());

  /** Sends `chunks` one every `everyMs`, and resolves with what the server sent once it hangs up. */
  function dribble(chunks: string[], everyMs: number, giveUpMs: number): Promise<{ received: string; closed: boolean }> {
    return new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      let received = '';
      let sent = 0;
      const timer = setInterval(() => {
        if (sent < chunks.length && !socket.destroyed) socket.write(chunks[sent++]!);
      }, everyMs);
      const done = (closed: boolean): void => {
        clearInterval(timer);
        clearTimeout(giveUp);
        socket.destroy();
        resolve({ received, closed });
      };
      const giveUp = setTimeout(() => done(false), giveUpMs);
      socket.on('data', (data) => {
        received += String(data);
      });
      socket.on('close', () => done(true));
      socket.on('error', () => undefined);
    });
  }

  it('answers 408 and disconnects a client whose body trickles in', async () => {
    const head = 'POST /api/v1/grants HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n';
    // The headers at once, then a byte of body every 300 ms: 40 bytes would take 12 s.
    const body = '{"label":"slow client sends one by one"}'.split('');
    const result = await dribble([head, ...body], 300, 10_000);
    expect(result.closed).toBe(true);
    expect(result.received).toMatch(/^HTTP\/1\.1 408/);
    // In pairgate's shape, with the headers of every machine answer (client-errors.ts).
    expect(result.received).toContain('cache-control: no-store');
    expect(JSON.parse(result.received.slice(result.received.indexOf('\r\n\r\n') + 4))).toMatchObject({ error: 'request_timeout' });
  });

  it('disconnects a client whose headers never end', async () => {
    const lines = ['GET /healthz HTTP/1.1\r\n', ...Array.from({ length: 40 }, (_, i) => `X-Slow-${i}: ${i}\r\n`)];
    const result = await dribble(lines, 300, 10_000);
    expect(result.closed).toBe(true);
  });

  it('does not cut an answer that takes longer than the timeout (a long-poll)', async () => {
    const created = (await (await fetch(`${t.url}/api/v1/grants`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"label":"x"}' })).json()) as { id: string };
    const response = await fetch(`${t.url}/api/v1/grants/${created.id}?wait=2`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { state: string }).state).toBe('pending');
  });
});
