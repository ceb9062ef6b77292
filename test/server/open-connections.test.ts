import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { allDoors } from '../../src/doors/index.js';
import { startServer, type RunningServer } from '../../src/server/start.js';

/**
 * Shutting down with connections that carry no request in flight: they are dropped at once, so a
 * SIGTERM does not wait the grace period (5 s here) for them; a request in flight is still answered.
 */
describe('shutdown with open connections (real sockets)', () => {
  let dataDir: string | undefined;
  let server: RunningServer | undefined;
  afterEach(async () => {
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  async function start(): Promise<RunningServer> {
    dataDir = mkdtempSync(join(tmpdir(), 'pairgate-open-connections-'));
    server = await startServer({ env: { PAIRGATE_DATA_DIR: dataDir, PAIRGATE_PORT: '0', PAIRGATE_LOG_LEVEL: 'silent', PAIRGATE_SHUTDOWN_GRACE_SECONDS: '5' } }, allDoors);
    return server;
  }

  /** A connection to `url` that has written `sent`, with what it receives and a promise of its end. */
  async function open(url: string, sent: string): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    socket.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    await new Promise((resolve) => socket.once('connect', resolve));
    if (sent) socket.write(sent);
    return { socket, received: () => received, closed };
  }

  it('drops connections that are silent, halfway through headers, or kept alive with half a next request', async () => {
    const running = await start();
    const silent = await open(running.url, '');
    const halfHeaders = await open(running.url, 'GET /healthz HTTP/1.1\r\nHost: x\r\n');
    const keptAlive = await open(running.url, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    for (let i = 0; i < 50 && !keptAlive.received().includes('"ok"'); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(keptAlive.received()).toMatch(/^HTTP\/1\.1 200/);
    keptAlive.socket.write('GET /healthz HTTP/1.1\r\nHost');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    await running.close();
    // Without dropping them, the close waited the whole grace period (5 s).
    expect(Date.now() - started).toBeLessThan(2_000);
    await Promise.all([silent.closed, halfHeaders.closed, keptAlive.closed]);
  });

  it('still answers a request in flight whose body arrives after the shutdown began', async () => {
    const running = await start();
    const body = '{"label":"sent in two parts"}';
    const request = await open(running.url, `POST /api/v1/grants HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 9)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    const closing = running.close();
    await new Promise((resolve) => setTimeout(resolve, 200));
    request.socket.write(body.slice(9));
    await closing;
    expect(Date.now() - started).toBeLessThan(2_000);
    await request.closed;
    expect(request.received()).toMatch(/^HTTP\/1\.1 201/);
  });
});
