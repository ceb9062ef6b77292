import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { useListeningApp } from '../helpers/app.js';
import { rawExchange } from '../helpers/raw-exchange.js';

/** The status, lower-cased head and body of a raw answer. */
function parsed(answer: string): { status: number; head: string; body: string } {
  const split = answer.indexOf('\r\n\r\n');
  return { status: Number(answer.slice(9, 12)), head: answer.slice(0, split).toLowerCase(), body: answer.slice(split + 4) };
}

/** A chunked body of `bytes` in one chunk, as the bytes of a request's body. */
function chunked(bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n0\r\n\r\n')]);
}

/**
 * A body in a transfer coding the server does not take off is a 501 (RFC 9112 6.1). Node removes the
 * chunks of `Transfer-Encoding: gzip, chunked` and handed the gzip bytes on as if they were the body:
 * the JSON parser read them as text. Real sockets, since no HTTP client sends it on its own.
 */
describe('a transfer coding besides chunked: 501 unsupported_transfer_coding (real sockets)', () => {
  const server = useListeningApp();

  it('gzip, chunked on a JSON route is 501 in the route\'s shape, with the machine headers, no grant made', async () => {
    const body = chunked(gzipSync('{"label":"let the printer in"}'));
    const head = 'POST /api/v1/grants HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n';
    const answer = parsed(await rawExchange(server.base, Buffer.concat([Buffer.from(head), body])));
    expect(answer.status).toBe(501);
    expect(JSON.parse(answer.body)).toEqual({ error: 'unsupported_transfer_coding', message: expect.stringContaining('Transfer-Encoding: chunked') });
    expect(answer.head).toContain('cache-control: no-store');
    // A client's mistake, not the server's failure: no warning for it.
    expect(server.t.logs.join('\n')).not.toContain('unsupported_transfer_coding');
  });

  it('the same on a door with its own shape (the device door\'s OAuth token endpoint: a 5xx is OAuth\'s server_error, pairgate\'s code beside it)', async () => {
    const head = 'POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: deflate, chunked\r\nConnection: close\r\n\r\n';
    const answer = parsed(await rawExchange(server.base, Buffer.concat([Buffer.from(head), chunked(Buffer.from('x'))])));
    expect(answer.status).toBe(501);
    expect(JSON.parse(answer.body)).toEqual({ error: 'server_error', pairgate_error: 'unsupported_transfer_coding', error_description: expect.any(String) });
  });

  it('chunked alone, in any case, is read as before', async () => {
    for (const coding of ['chunked', 'Chunked', ' CHUNKED ']) {
      const head = `POST /api/v1/grants HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding:${coding}\r\nConnection: close\r\n\r\n`;
      const answer = parsed(await rawExchange(server.base, Buffer.concat([Buffer.from(head), chunked(Buffer.from('{"label":"x"}'))])));
      expect(answer.status, coding).toBe(201);
    }
  });
});
