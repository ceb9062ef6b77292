import { describe, expect, it } from 'vitest';
import { useListeningApp } from '../helpers/app.js';
import { rawExchange } from '../helpers/raw-exchange.js';

/**
 * `Expect` other than `100-continue` is a 417 (RFC 9110 10.1.1), answered in pairgate's shape with
 * the machine headers: Node answered an empty chunked 417 with none of them. Real sockets.
 */
describe('an Expect header pairgate does not meet (real sockets)', () => {
  const server = useListeningApp();

  it('is refused 417 expectation_failed in pairgate\'s shape, no-store, the connection closed', async () => {
    const answer = await rawExchange(server.base, 'POST /api/v1/grants HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 200-ok\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n');
    const split = answer.indexOf('\r\n\r\n');
    const head = answer.slice(0, split).toLowerCase();
    expect(answer.slice(0, 12)).toBe('HTTP/1.1 417');
    expect(head).toContain('connection: close');
    expect(head).toContain('cache-control: no-store');
    expect(head).toContain('x-content-type-options: nosniff');
    expect(JSON.parse(answer.slice(split + 4))).toEqual({ error: 'expectation_failed', message: expect.stringMatching(/100-continue/) });
  });

  it('100-continue still gets its 100 and then the route\'s answer', async () => {
    const answer = await rawExchange(server.base, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n');
    expect(answer).toMatch(/HTTP\/1\.1 200/);
  });
});
