import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSelfSigned, type KeyAndCertificate } from '../../src/doors/registry/self-signed.js';
import { PairgateClient } from '../../src/sdk/client.js';
import { DnsUpdateClient } from '../../src/sdk/dns-update.js';
import { MAX_ANSWER_BYTES, MAX_LIST_ANSWER_BYTES } from '../../src/sdk/errors.js';
import { SupportOriginClient } from '../../src/sdk/support.js';
import { listening, rejection } from './consumer-sdk-helpers.js';

/**
 * The SDK read answers of any size: a server (or an --update-api or relay URL pointed at a large
 * file) had the CLI hold all it sent in memory until the call's timeout. An answer's body is read
 * up to a cap now (1 MiB; 16 MiB for the calls answering lists), then the call is refused with
 * `answer_too_large`, naming the URL and the cap, and the connection closed. Real local servers.
 */

/** What an endless answer's server saw: the bytes it sent, and whether the client closed on it. */
interface Flood {
  sent: number;
  closed: Promise<void>;
}

/** A handler answering `status` with a body that never ends (64 KiB chunks, as fast as they are taken). */
function endless(status: number, floods: Flood[]) {
  return (_request: IncomingMessage, response: ServerResponse): void => {
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const flood: Flood = { sent: 0, closed: new Promise((resolve) => response.once('close', () => resolve())) };
    floods.push(flood);
    response.writeHead(status, { 'content-type': 'application/json' });
    const pump = (): void => {
      while (!response.destroyed) {
        flood.sent += chunk.length;
        if (!response.write(chunk)) return void response.once('drain', pump);
      }
    };
    pump();
  };
}

/** A handler answering with `body`, whose length is declared. */
function whole(body: string, status = 200) {
  return (_request: IncomingMessage, response: ServerResponse): void => {
    response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    response.end(body);
  };
}

/** A handler declaring a 10 GiB body and sending a few bytes of it, then nothing. */
function declaredHuge(_request: IncomingMessage, response: ServerResponse): void {
  response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(10 * 1024 ** 3) });
  response.write('{"status":');
}

/** A JSON object of `bytes` bytes (padded with spaces). */
function jsonOf(value: Record<string, unknown>, bytes: number): string {
  const text = JSON.stringify(value);
  return `${text.slice(0, -1)}${' '.repeat(bytes - text.length)}}`;
}

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

async function serve(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  return (await listening(server)).url;
}

describe('the SDK bounds the answers it reads (http-call.ts, shared by the fetch clients)', () => {
  it('an endless 2xx body: answer_too_large at the cap, naming the URL and the cap, the connection closed', async () => {
    const floods: Flood[] = [];
    const url = await serve(endless(200, floods));
    const started = performance.now();
    const error = await rejection(new PairgateClient({ baseUrl: url, timeoutMs: 10_000 }).health());
    expect(performance.now() - started).toBeLessThan(5_000);
    expect([error.code, error.status]).toEqual(['answer_too_large', 200]);
    expect(error.message).toBe(`${url} answered GET /healthz with a body larger than 1 MiB, the most this client reads for it: no pairgate answer is that large. Check that the URL is the pairgate server's (not a file or another service).`);
    expect(error.retryable).toBe(false);
    await floods[0]!.closed;
    // What was sent before the close: the cap and what the sockets' buffers held, not more.
    expect(floods[0]!.sent).toBeLessThan(MAX_ANSWER_BYTES + 16 * 1024 * 1024);
  });

  it('an endless refusal body is refused the same way, with its status', async () => {
    const floods: Flood[] = [];
    const url = await serve(endless(503, floods));
    const error = await rejection(new PairgateClient({ baseUrl: url, timeoutMs: 10_000 }).getGrant('abcdefghijklmnop'));
    expect([error.code, error.status]).toEqual(['answer_too_large', 503]);
    expect(error.message).toMatch(new RegExp(`^${url} answered GET /api/v1/grants/abcdefghijklmnop with a body larger than 1 MiB`));
    await floods[0]!.closed;
  });

  it('a body declared larger than the cap is refused at once, not waited for', async () => {
    const url = await serve(declaredHuge);
    const started = performance.now();
    const error = await rejection(new PairgateClient({ baseUrl: url, timeoutMs: 10_000 }).health());
    expect(error.code).toBe('answer_too_large');
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('an answer just within the cap is read as before; a refusal within it keeps its code', async () => {
    const okUrl = await serve(whole(jsonOf({ status: 'ok' }, MAX_ANSWER_BYTES)));
    expect(await new PairgateClient({ baseUrl: okUrl }).health()).toEqual({ status: 'ok' });
    const refusalUrl = await serve(whole(jsonOf({ error: 'grant_not_found', message: 'No such grant.' }, 2_000), 404));
    const error = await rejection(new PairgateClient({ baseUrl: refusalUrl }).getGrant('abcdefghijklmnop'));
    expect([error.code, error.status, error.message]).toEqual(['grant_not_found', 404, 'No such grant.']);
  });

  it(`a list of live sessions may be larger, up to ${MAX_LIST_ANSWER_BYTES / 1024 ** 2} MiB; an endless one is refused`, async () => {
    const session = { ID: 's', State: 'waiting', Version: 1, SessionURL: 'https://x', SupporterName: 'n', SupporterAvatar: `https://a.example/${'p'.repeat(2_000)}`, Pairing: true, CreatedAt: '', ExpiresAt: '', ConfirmedAt: null, ConnectedAt: null };
    const sessions = Array.from({ length: 1_500 }, (_, i) => ({ ...session, ID: `s${i}` }));
    const big = JSON.stringify({ Sessions: sessions });
    expect(big.length).toBeGreaterThan(3 * MAX_ANSWER_BYTES);
    const url = await serve(whole(big));
    expect(await new SupportOriginClient({ baseUrl: url, user: 'admin', password: 'pw' }).listSessions()).toHaveLength(1_500);
    const floods: Flood[] = [];
    const endlessUrl = await serve(endless(200, floods));
    const error = await rejection(new SupportOriginClient({ baseUrl: endlessUrl, user: 'admin', password: 'pw' }).listSessions());
    expect(error.code).toBe('answer_too_large');
    expect(error.message).toMatch(/answered GET \/session with a body larger than 16 MiB/);
  });
});

describe('the SDK bounds the answers it reads (DnsUpdateClient)', () => {
  let keys: KeyAndCertificate;
  let box: KeyAndCertificate;
  beforeAll(async () => {
    keys = await createSelfSigned({ commonName: '127.0.0.1', altNames: ['127.0.0.1'] });
    box = await createSelfSigned({ commonName: 'box' });
  });
  const httpsServers: ReturnType<typeof createHttpsServer>[] = [];
  afterAll(() => {
    for (const server of httpsServers) {
      server.closeAllConnections();
      server.close();
    }
  });
  async function client(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<{ url: string; api: DnsUpdateClient }> {
    const server = createHttpsServer({ key: keys.keyPem, cert: keys.certPem, requestCert: true, rejectUnauthorized: false }, handler);
    httpsServers.push(server);
    const { url } = await listening(server, 'https');
    return { url, api: new DnsUpdateClient({ baseUrl: url, box, ca: keys.certPem, timeoutMs: 10_000 }) };
  }
  const name = `local.${'a'.repeat(52)}.box.example.test`;

  it('an endless answer: answer_too_large at the cap, naming the URL and the cap, the connection closed', async () => {
    const floods: Flood[] = [];
    const { url, api } = await client(endless(200, floods));
    const started = performance.now();
    const error = await rejection(api.set(name, 'A', '192.168.1.5'));
    expect(performance.now() - started).toBeLessThan(5_000);
    expect([error.code, error.status]).toEqual(['answer_too_large', 200]);
    expect(error.message).toBe(`${url} answered POST /v1/dns/test/example/box/${'a'.repeat(52)}/local with a body larger than 1 MiB, the most this client reads for it: no pairgate answer is that large. Check that the URL is the pairgate server's (not a file or another service).`);
    await floods[0]!.closed;
    expect(floods[0]!.sent).toBeLessThan(MAX_ANSWER_BYTES + 16 * 1024 * 1024);
  });

  it('a body declared larger than the cap is refused at once; a list may be larger than a single answer', async () => {
    const { api } = await client(declaredHuge);
    expect((await rejection(api.remove(name))).code).toBe('answer_too_large');
    const record = { name, type: 'TXT', value: 'v'.repeat(255), ttl: 60 };
    const records = Array.from({ length: 10_000 }, () => record);
    const { api: lister } = await client(whole(JSON.stringify({ records })));
    expect(await lister.list(name)).toHaveLength(10_000);
    const { api: flooded } = await client(endless(200, []));
    const error = await rejection(flooded.list(name));
    expect(error.code).toBe('answer_too_large');
    expect(error.message).toMatch(/with a body larger than 16 MiB/);
  });
});
