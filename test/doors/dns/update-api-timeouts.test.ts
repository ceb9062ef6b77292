import { connect as connectTcp } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoxIdentity } from '../../../src/doors/registry/box-identity.js';
import type { DnsRuntime } from '../../../src/doors/dns/dns-door.js';
import { API_SECURITY_HEADERS } from '../../../src/server/security-headers.js';
import type { TestApp } from '../../helpers/app.js';
import { createDnsApp, GIVE_UP_MS, newBox, parsedAnswer, updateApiExchange, ZONE, type UpdateApiExchange } from './dns-helpers.js';

/**
 * The request timeout of these tests (PAIRGATE_REQUEST_TIMEOUT_SECONDS, which the update API takes
 * from the main server's configuration): Node checks every tenth of it, so a connection past it is
 * closed by 1.1 s; BOUND_MS leaves room for a busy machine, far below what the listener allowed
 * before (a silent connection or half-sent headers 60 to 90 s, a stalled body for ever).
 */
const TIMEOUT_MS = 1_000;
const BOUND_MS = 3_000;
/** `text` written a byte every `everyMs`, the first at once; the timers are the caller's to clear. */
function trickle(write: (text: string) => void, text: string, everyMs: number): NodeJS.Timeout {
  let at = 0;
  const next = (): void => {
    write(text.slice(at, at + 1));
    at += 1;
  };
  next();
  const timer = setInterval(() => (at < text.length ? next() : clearInterval(timer)), everyMs);
  return timer;
}

/** Expects `head` to carry the headers of every machine answer (`cache-control: no-store`, ...). */
function expectMachineHeaders(head: string, what: string): void {
  for (const [name, value] of Object.entries(API_SECURITY_HEADERS)) expect(head, what).toContain(`\r\n${name}: ${value.toLowerCase()}`);
}

/** Expects a 408 `request_timeout` in pairgate's shape, written within the bound after the timeout. */
function expectTimedOut(exchange: UpdateApiExchange, what: string): void {
  const { status, head, body } = parsedAnswer(exchange.received);
  expect(status, what).toBe(408);
  expect(JSON.parse(body), what).toEqual({ error: 'request_timeout', message: expect.stringContaining('not sent in time') });
  expect(head, what).toContain('content-type: application/json');
  expectMachineHeaders(head, what);
  expect(exchange.closedAfterMs, what).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
  expect(exchange.closedAfterMs, what).toBeLessThan(BOUND_MS);
}

describe('update API: a client has PAIRGATE_REQUEST_TIMEOUT_SECONDS to send a request, as on the main server (real TLS sockets)', () => {
  let t: TestApp;
  let runtime: DnsRuntime;
  let box: BoxIdentity;
  let path: string;
  beforeAll(async () => {
    ({ t, runtime } = await createDnsApp({ PAIRGATE_REQUEST_TIMEOUT_SECONDS: String(TIMEOUT_MS / 1000) }));
    box = await newBox('timeouts');
    path = `/v1/dns/${ZONE.split('.').reverse().join('/')}/${box.fingerprint}/www`;
  });
  afterAll(() => t.close());

  it('headers sent in part, then nothing: 408 request_timeout in pairgate\'s shape, and the connection closed (Node waited 60 to 90 s)', async () => {
    const exchange = await updateApiExchange(runtime, box, (write) => write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n`));
    expectTimedOut(exchange, 'partial headers');
  });

  it('a body sent in part, then nothing: 408 and closed (no timeout at all held it for ever)', async () => {
    const exchange = await updateApiExchange(runtime, box, (write) => write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 34\r\n\r\n{"type":"A",`));
    expectTimedOut(exchange, 'partial body');
  });

  it('a body trickled a byte every 200 ms (never idle long, the whole request late): 408 and closed', async () => {
    let timer: NodeJS.Timeout | undefined;
    const body = '{"type":"A","value":"192.0.2.10"}\n';
    try {
      const exchange = await updateApiExchange(runtime, box, (write) => {
        write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
        timer = trickle(write, body, 200);
      });
      expectTimedOut(exchange, 'trickled body');
    } finally {
      clearInterval(timer);
    }
  });

  it('a connection that sends nothing after the handshake: 408 and closed', async () => {
    const exchange = await updateApiExchange(runtime, box, () => undefined);
    expectTimedOut(exchange, 'silent');
  });

  it('a connection that never starts its TLS handshake is closed within the request timeout (Node held it 120 s)', async () => {
    const closedAfterMs = await new Promise<number>((resolve, reject) => {
      const socket = connectTcp({ host: '127.0.0.1', port: runtime.updateApi!.port });
      let since = 0;
      socket.on('connect', () => (since = Date.now()));
      socket.on('error', () => undefined);
      const giveUp = setTimeout(() => {
        socket.destroy();
        reject(new Error(`the update API kept a connection without a handshake open ${GIVE_UP_MS} ms`));
      }, GIVE_UP_MS);
      socket.on('close', () => {
        clearTimeout(giveUp);
        resolve(Date.now() - since);
      });
    });
    expect(closedAfterMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(closedAfterMs).toBeLessThan(BOUND_MS);
  });

  it('a request sent at once is still answered', async () => {
    const { received } = await updateApiExchange(runtime, box, (write) => write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    const { status, body } = parsedAnswer(received);
    expect(status).toBe(200);
    expect(JSON.parse(body)).toEqual({ records: [] });
  });
});

describe('update API: requests Node cannot parse, and the security headers of every answer (real TLS sockets)', () => {
  let t: TestApp;
  let runtime: DnsRuntime;
  let box: BoxIdentity;
  let path: string;
  beforeAll(async () => {
    ({ t, runtime } = await createDnsApp());
    box = await newBox('client-errors');
    path = `/v1/dns/${ZONE.split('.').reverse().join('/')}/${box.fingerprint}/www`;
  });
  afterAll(() => t.close());

  /** The parsed answer to `raw`, sent at once; the server must close the connection after it. */
  const answerTo = async (raw: string) => parsedAnswer((await updateApiExchange(runtime, box, (write) => write(raw))).received);

  it('a malformed request line: 400 malformed_request in pairgate\'s shape with the machine headers (Fastify\'s "Client Error" before)', async () => {
    for (const raw of ['GET /\x01 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 'G@T / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', `GET ${path} HTTP/9.Z\r\nHost: 127.0.0.1\r\n\r\n`]) {
      const { status, head, body } = await answerTo(raw);
      expect(status, raw).toBe(400);
      expect(head, raw).toContain('content-type: application/json');
      expect(head, raw).toContain('connection: close');
      expectMachineHeaders(head, raw);
      expect(JSON.parse(body), raw).toEqual({ error: 'malformed_request', message: expect.stringMatching(/^This request is not valid HTTP\/1\.1/) });
    }
  });

  /** Sends each case and expects its status, JSON with the machine headers, and its error code. */
  const expectMachineAnswers = async (cases: readonly { raw: string; status: number; error?: string }[]) => {
    for (const { raw, status, error } of cases) {
      const what = raw.split('\r\n').slice(0, -2).join(' | ');
      const answer = await answerTo(raw);
      expect(answer.status, what).toBe(status);
      expect(answer.head, what).toContain('content-type: application/json');
      expectMachineHeaders(answer.head, what);
      if (error) expect(JSON.parse(answer.body), what).toEqual({ error, message: expect.any(String) });
    }
  };

  it('the routes\' answers and the refusals before any route carry the machine headers (only unknown addresses under /v1/dns had them)', async () => {
    await expectMachineAnswers([
      // A record listed, a refusal, the registry over mutual TLS, the document.
      { raw: `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`, status: 200 },
      { raw: `GET /v1/dns/${ZONE.split('.').reverse().join('/')}/another/www HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`, status: 401, error: 'not_owner' },
      { raw: 'POST /register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}', status: 400 },
      { raw: 'GET /docs/json HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', status: 200 },
      // Refused before any route.
      { raw: `GET ${path} HTTP/1.1\r\nConnection: close\r\n\r\n`, status: 400, error: 'missing_host' },
      { raw: 'GET * HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', status: 400, error: 'invalid_request_target' },
    ]);
  });

  it('what no route answers outside /v1/dns is JSON in pairgate\'s shape with the machine headers, to browsers too (not the main server\'s page)', async () => {
    await expectMachineAnswers([
      { raw: 'GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', status: 404, error: 'route_not_found' },
      { raw: 'GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/html\r\nConnection: close\r\n\r\n', status: 404, error: 'route_not_found' },
      { raw: 'GET /%zz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', status: 400, error: 'bad_url' },
      { raw: 'GET /%zz HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/html\r\nConnection: close\r\n\r\n', status: 400, error: 'bad_url' },
      { raw: 'DELETE /docs/json HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', status: 405, error: 'method_not_allowed' },
      // Under /v1/dns, as before.
      { raw: 'GET /v1/dns/a%zz HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/html\r\nConnection: close\r\n\r\n', status: 400, error: 'bad_url' },
    ]);
  });
});
