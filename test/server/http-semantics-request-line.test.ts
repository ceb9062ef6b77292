import { describe, expect, it } from 'vitest';
import { useListeningApp } from '../helpers/app.js';
import { rawExchange } from '../helpers/raw-exchange.js';

/** The status, lower-cased head and JSON body of a raw answer. */
function parsed(answer: string): { status: number; head: string; body: { error: string; message: string } } {
  const split = answer.indexOf('\r\n\r\n');
  return { status: Number(answer.slice(9, 12)), head: answer.slice(0, split).toLowerCase(), body: JSON.parse(answer.slice(split + 4)) as { error: string; message: string } };
}

/**
 * A request target longer than the server will parse is a 414 (RFC 9112 3, a MUST), not the 431 of
 * headers too large. Node's parser reports both as one error (the request line counts toward the
 * 16 KiB of the head), so the server tells them apart by the bytes it was reading. Real sockets.
 */
describe('a request line over the head\'s limit by itself: 414 uri_too_long (real sockets)', () => {
  const server = useListeningApp();

  it('a 20 KiB address is 414 uri_too_long, in pairgate\'s shape with the machine headers, the connection closed', async () => {
    const { status, head, body } = parsed(await rawExchange(server.base, `GET /api/v1/grants?x=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`));
    expect(status).toBe(414);
    expect(body).toEqual({ error: 'uri_too_long', message: expect.stringMatching(/address is too long/) });
    expect(head).toContain('cache-control: no-store');
    expect(head).toContain('connection: close');
  });

  it('an address under the limit with headers that take the head over it stays 431 headers_too_large', async () => {
    const { status, body } = parsed(await rawExchange(server.base, `GET /healthz?x=${'a'.repeat(10_000)} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'b'.repeat(10_000)}\r\n\r\n`));
    expect(status).toBe(431);
    expect(body.error).toBe('headers_too_large');
  });

  it('a short address with one huge header stays 431 headers_too_large', async () => {
    const { status, body } = parsed(await rawExchange(server.base, `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`));
    expect(status).toBe(431);
    expect(body.error).toBe('headers_too_large');
  });

  it('the server goes on answering afterwards', async () => {
    expect((await fetch(`${server.base}/healthz`)).status).toBe(200);
  });
});
