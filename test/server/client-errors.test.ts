import { describe, expect, it } from 'vitest';
import { useListeningApp } from '../helpers/app.js';
import { rawExchange } from '../helpers/raw-exchange.js';

/** The status, lower-cased head and JSON body of a raw answer. */
function parsed(answer: string): { status: number; head: string; body: { error: string; message: string } } {
  const split = answer.indexOf('\r\n\r\n');
  return { status: Number(answer.slice(9, 12)), head: answer.slice(0, split).toLowerCase(), body: JSON.parse(answer.slice(split + 4)) as { error: string; message: string } };
}

/**
 * Requests Node's HTTP parser cannot read never reach Fastify's routes; Fastify answered them with
 * its own body (`{"error":"Bad Request","message":"Client Error"}`), no machine code and none of
 * the headers of pairgate's answers. They are answered in pairgate's shape now.
 */
describe('requests the HTTP parser refuses (real sockets)', () => {
  const server = useListeningApp();

  it('an unknown method, a byte outside ASCII in the address and a bad Content-Length: 400 malformed_request, saying what to check', async () => {
    const requests: Array<[string, string | Buffer]> = [
      ['method', 'FOO /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'],
      ['address', Buffer.concat([Buffer.from('GET /healthz?x='), Buffer.from([0xc3, 0xa9]), Buffer.from(' HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')])],
      ['content-length', 'POST /api/v1/grants HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: -1\r\n\r\n{}'],
    ];
    for (const [what, raw] of requests) {
      const { status, head, body } = parsed(await rawExchange(server.base, raw));
      expect(status, what).toBe(400);
      expect(body.error, what).toBe('malformed_request');
      expect(body.message, what).toMatch(/^This request is not valid HTTP\/1\.1: .+\. Check the method, the address/);
      expect(head, what).toContain('cache-control: no-store');
      expect(head, what).toContain("content-security-policy: default-src 'none'");
      expect(head, what).toContain('connection: close');
    }
  });

  it('headers over the limit: 431 headers_too_large', async () => {
    const { status, body } = parsed(await rawExchange(server.base, `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`));
    expect(status).toBe(431);
    expect(body).toEqual({ error: 'headers_too_large', message: expect.stringMatching(/too large/) });
  });

  it('the server goes on answering afterwards', async () => {
    expect((await fetch(`${server.base}/healthz`)).status).toBe(200);
  });
});

describe('requests the HTTP parser refuses, logged at debug (real sockets)', () => {
  const server = useListeningApp({ PAIRGATE_LOG_LEVEL: 'debug' });

  it('the log line names the parser\'s code and reason, never the bytes received (a code in the address, Authorization, cookies)', async () => {
    const secrets = ['code-ABCD-1234', 'Bearer sekret-token-5678', 'pg_session=cookie-9012'];
    await rawExchange(server.base, `GET /api/v1/codes/${secrets[0]} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${secrets[1]}\r\nCookie: ${secrets[2]}\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    await rawExchange(server.base, `FOO /api/v1/codes/${secrets[0]} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${secrets[1]}\r\n\r\n`);
    const lines = server.t.logs.filter((line) => line.includes('client error'));
    expect(lines).toHaveLength(2);
    expect(lines.join('\n')).toContain('HPE_HEADER_OVERFLOW');
    // Before, the whole error went out, its rawPacket (the request's bytes) with it.
    for (const secret of secrets) expect(server.t.logs.join('\n')).not.toContain(secret);
  });
});
