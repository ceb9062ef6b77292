import { describe, expect, it } from 'vitest';
import { useListeningApp } from '../helpers/app.js';
import { rawExchange } from '../helpers/raw-exchange.js';

/** The status, lower-cased head and body of a raw answer. */
function parsed(answer: string): { status: number; head: string; body: string } {
  const split = answer.indexOf('\r\n\r\n');
  return { status: Number(answer.slice(9, 12)), head: answer.slice(0, split).toLowerCase(), body: answer.slice(split + 4) };
}

describe('requests RFC 9112 refuses that Node lets through (real sockets)', () => {
  const server = useListeningApp();

  it('an HTTP/1.1 request without Host: 400 missing_host in JSON, with the machine headers, and the connection closed (Node answered an empty 400)', async () => {
    for (const raw of ['GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n', 'POST /api/v1/grants HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{"label":"x"}']) {
      const { status, head, body } = parsed(await rawExchange(server.base, raw));
      expect(status, raw).toBe(400);
      expect(JSON.parse(body), raw).toEqual({ error: 'missing_host', message: expect.stringContaining('has no Host header') });
      expect(head, raw).toContain('connection: close');
      expect(head, raw).toContain('cache-control: no-store');
    }
  });

  it('HTTP/1.0 needs no Host', async () => {
    const { status, body } = parsed(await rawExchange(server.base, 'GET /healthz HTTP/1.0\r\n\r\n'));
    expect(status).toBe(200);
    expect(JSON.parse(body)).toEqual({ status: 'ok' });
  });

  it('HTTP/1.0 with a Transfer-Encoding: 400 invalid_framing and the connection closed (Node read the chunks as the body, which a proxy reading HTTP/1.0 frames otherwise)', async () => {
    const raw = 'POST /api/v1/grants HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nd\r\n{"label":"x"}\r\n0\r\n\r\n';
    const { status, head, body } = parsed(await rawExchange(server.base, raw));
    expect(status).toBe(400);
    expect(JSON.parse(body)).toEqual({ error: 'invalid_framing', message: expect.stringContaining('HTTP/1.0 request has a Transfer-Encoding header') });
    expect(head).toContain('connection: close');
    expect(head).toContain('cache-control: no-store');
    // HTTP/1.1 with chunked, and HTTP/1.0 with Content-Length, are read as before.
    const framed = '{"label":"x"}';
    expect(parsed(await rawExchange(server.base, `POST /api/v1/grants HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: ${framed.length}\r\n\r\n${framed}`)).status).toBe(201);
    expect(parsed(await rawExchange(server.base, `POST /api/v1/grants HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nd\r\n${framed}\r\n0\r\n\r\n`)).status).toBe(201);
  });

  it('the target "*" with GET, HEAD or POST: 400 invalid_request_target (GET * answered the home page); OPTIONS * keeps its 204', async () => {
    for (const method of ['GET', 'POST']) {
      const { status, body } = parsed(await rawExchange(server.base, `${method} * HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`));
      expect(status, method).toBe(400);
      expect(JSON.parse(body), method).toEqual({ error: 'invalid_request_target', message: `The request target "*" is only for OPTIONS (RFC 9112, section 3.2.4), not ${method}. Send a path, such as "${method} / HTTP/1.1".` });
    }
    expect(parsed(await rawExchange(server.base, 'HEAD * HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')).status).toBe(400);
    const options = parsed(await rawExchange(server.base, 'OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'));
    expect(options.status).toBe(204);
    expect(options.head).toContain('allow: ');
  });
});
