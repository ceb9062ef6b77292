import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import type { TestApp } from '../../helpers/app.js';
import { ADMIN_AUTH, postJson, startOrigin } from './helpers.js';

/**
 * The origin's one outgoing call, its publish on PLEXUS_PAIRING_URL (docs/architecture.md,
 * "Outgoing connections"), against a relay that misbehaves: often another party's server, so its
 * answers are not trusted. Real sockets: the relay and the address it redirects to listen on
 * loopback, and the origin publishes on them through its own HTTP API.
 */

const servers: Server[] = [];
const origins: TestApp[] = [];

/** An HTTP server on loopback that records the requests it gets (method, path and query, authorization). */
async function listener(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<{ url: string; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((request, response) => {
    hits.push(`${request.method} ${request.url} ${request.headers.authorization ?? ''}`);
    handler(request, response);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, hits };
}

async function origin(relayUrl: string, env: Record<string, string> = {}): Promise<TestApp> {
  const started = await startOrigin(relayUrl, env);
  origins.push(started);
  return started;
}

const newSession = (at: TestApp, id: string): Promise<Response> =>
  postJson(`${at.url}/session`, { id, supporter_name: 'T', supporter_avatar: 'https://img.example/a.png' }, { authorization: ADMIN_AUTH });

afterEach(async () => {
  for (const started of origins.splice(0)) await started.close();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

describe('support origin: a relay that misbehaves', () => {
  it('a redirect (to another server on loopback) is not followed, and is said as a redirect, without the query it carries', async () => {
    const inner = await listener((_request, response) => response.end('{"success": true}'));
    const relay = await listener((_request, response) => {
      response.writeHead(307, { location: `${inner.url}/pairing/?key=hidden` });
      response.end();
    });
    const at = await origin(relay.url, { PAIRGATE_SUPPORT_RELAY_API_KEY: 'relay-key-1' });
    const response = await newSession(at, 'redirected');
    expect(response.status).toBe(502);
    const body = await response.json() as { Code: string; Description: string };
    expect(body.Code).toBe('relay_bad_answer');
    expect(body.Description).toContain(`answered with a redirect (HTTP 307 to ${inner.url}/pairing/), which this server does not follow`);
    expect(body.Description).not.toContain('hidden');
    expect(body.Description).not.toContain('TypeError');
    // Published once, with its key, on the configured address; the redirect's target saw nothing.
    expect(relay.hits).toEqual(['POST /pairing/ Bearer relay-key-1']);
    expect(inner.hits).toEqual([]);
  });

  it('an answer dripped slower than the timeout ends at the timeout, said as unfinished, not as a refusal "HTTP 200"', async () => {
    const relay = await listener((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"success": true, "code": "7auu83", "pad": "');
      const drip = setInterval(() => response.write(' '), 100);
      response.on('close', () => clearInterval(drip));
    });
    const at = await origin(relay.url, { PAIRGATE_SUPPORT_RELAY_TIMEOUT_SECONDS: '1' });
    const started = Date.now();
    const response = await newSession(at, 'dripped');
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(response.status).toBe(502);
    const body = await response.json() as { Code: string; Description: string };
    expect(body.Code).toBe('relay_unreachable');
    expect(body.Description).toContain('did not finish its answer within 1 s');
    expect(body.Description).not.toContain('HTTP 200');
  });

  it('an answer whose connection is cut midway is said as broken off, not as a refusal "HTTP 200"', async () => {
    const relay = await listener((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"success": true, "code": "7au', () => setTimeout(() => response.socket?.destroy(), 50));
    });
    const at = await origin(relay.url);
    const response = await newSession(at, 'cut');
    expect(response.status).toBe(502);
    const body = await response.json() as { Code: string; Description: string };
    expect(body.Code).toBe('relay_unreachable');
    expect(body.Description).toContain('broke off its answer');
    expect(body.Description).not.toContain('HTTP 200');
  });

  it('a compressed answer that inflates to 200 MB is read no further than the cap, in little time and memory', async () => {
    const bomb = gzipSync(Buffer.alloc(200 * 1024 * 1024, 0x20));
    const relay = await listener((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': bomb.length });
      response.end(bomb);
    });
    const at = await origin(relay.url, { PAIRGATE_SUPPORT_RELAY_TIMEOUT_SECONDS: '10' });
    const rss = process.memoryUsage().rss;
    const started = Date.now();
    const response = await newSession(at, 'inflated');
    expect(response.status).toBe(502);
    expect((await response.json() as { Code: string }).Code).toBe('relay_bad_answer');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(process.memoryUsage().rss - rss).toBeLessThan(64 * 1024 * 1024);
  });
});
