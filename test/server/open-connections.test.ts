import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Door } from '../../src/doors/door.js';
import { allDoors } from '../../src/doors/index.js';
import { startServer, type RunningServer } from '../../src/server/start.js';
import { logCollector, type LogEntry } from '../helpers/log-lines.js';
import { openConnection as open } from '../helpers/raw-exchange.js';

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

  /** What the server logged, one parsed line each (warnings and up). */
  let logged: LogEntry[] = [];

  async function start(graceSeconds = 5, extraDoors: readonly Door[] = []): Promise<RunningServer> {
    dataDir = mkdtempSync(join(tmpdir(), 'pairgate-open-connections-'));
    const log = logCollector();
    logged = log.entries;
    server = await startServer({ env: { PAIRGATE_DATA_DIR: dataDir, PAIRGATE_PORT: '0', PAIRGATE_LOG_LEVEL: 'warn', PAIRGATE_SHUTDOWN_GRACE_SECONDS: String(graceSeconds) } }, [...allDoors, ...extraDoors], log.stream);
    return server;
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

  it('refuses a request whose body stalls (503 shutting_down, then closed) within the stall time, while a slow handler in flight still answers', async () => {
    // A handler that takes longer than the stall time, its body read whole before it runs.
    const slowDoor: Door = {
      name: 'slow-test',
      async register(app) {
        app.post('/slow-test', async () => {
          await new Promise((resolve) => setTimeout(resolve, 2_500));
          return { finished: true };
        });
      },
    };
    // The grace period the silent client held the shutdown for (Node's request timeout stops once closing).
    const running = await start(10, [slowDoor]);
    const slow = await open(running.url, 'POST /slow-test HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}');
    // Content-Length 100, 10 bytes sent, then silence.
    const stalled = await open(running.url, 'POST /api/v1/grants HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"label":"');
    let stalledClosedAfter: number | undefined;
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    void stalled.closed.then(() => {
      stalledClosedAfter = Date.now() - started;
    });
    await running.close();
    const closedAfter = Date.now() - started;
    await Promise.all([slow.closed, stalled.closed]);
    // The stalled body is refused after 2 s without progress; without it, the close took the whole 10 s.
    expect(stalledClosedAfter).toBeGreaterThanOrEqual(1_900);
    expect(stalledClosedAfter).toBeLessThan(3_500);
    expect(closedAfter).toBeLessThan(5_000);
    const refused = stalled.received();
    expect(refused).toMatch(/^HTTP\/1\.1 503/);
    expect(refused.toLowerCase()).toContain('retry-after: 5');
    expect(refused.toLowerCase()).toContain('connection: close');
    expect(JSON.parse(refused.slice(refused.indexOf('\r\n\r\n') + 4))).toEqual({ error: 'shutting_down', message: 'This server is shutting down. Try again in a moment.' });
    // The operator is told, with the count and without the request's path.
    const told = logged.filter((line) => line.msg.includes('made no progress'));
    expect(told).toHaveLength(1);
    expect(told[0]).toMatchObject({ level: 40, ended: 1 });
    expect(JSON.stringify(told[0])).not.toContain('/api/v1/grants');
    // The handler at work when the stalled body was refused still answered.
    expect(slow.received()).toMatch(/^HTTP\/1\.1 200/);
    expect(slow.received()).toContain('{"finished":true}');
  });

  it('still refuses a stalled body in its stall time when the wall clock is stepped back during the close (it held the close for the grace period)', async () => {
    const running = await start(10);
    const stalled = await open(running.url, 'POST /api/v1/grants HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"label":"');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = performance.now();
    const closing = running.close();
    // NTP steps the wall clock an hour back half a second into the close, once the server has
    // begun watching the stalled body.
    const realNow = Date.now.bind(Date);
    const wall = vi.spyOn(Date, 'now').mockImplementation(() => realNow() - (performance.now() - started > 500 ? 3_600_000 : 0));
    try {
      await closing;
    } finally {
      wall.mockRestore();
    }
    await stalled.closed;
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(stalled.received()).toMatch(/^HTTP\/1\.1 503/);
  });

  it('leaves a body sent steadily while the server is not reading it yet (a slow hook before the parser), and answers it', async () => {
    // A hook that waits 3 s (a slow rate-limit store, say) before the body is read: the request's
    // buffer fills, Node stops reading the socket, and the steady client looked silent for 2 s.
    const slowHookDoor: Door = {
      name: 'slow-hook-test',
      async register(app) {
        app.post('/slow-hook-test', { onRequest: async () => { await new Promise((resolve) => setTimeout(resolve, 3_000)); } }, async (request) => ({ length: JSON.stringify(request.body).length }));
      },
    };
    const running = await start(10, [slowHookDoor]);
    const body = JSON.stringify({ x: 'a'.repeat(60_000) });
    const client = await open(running.url, `POST /slow-hook-test HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closing = running.close();
    for (let sent = 0; sent < body.length; sent += 2_000) {
      client.socket.write(body.slice(sent, sent + 2_000));
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
    await closing;
    await client.closed;
    expect(client.received()).toMatch(/^HTTP\/1\.1 200/);
    expect(client.received()).toContain(`{"length":${body.length}}`);
  }, 20_000);
});
