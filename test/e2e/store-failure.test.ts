import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresMissing } from '../helpers/services.js';
import { ensureBuilt, failingStart, startNode, type NodeProcess } from '../helpers/node-process.js';
import { missingProgram } from '../helpers/system.js';
import { freePort } from '../helpers/ports.js';

/**
 * What a node does when its stores go away: start-up fails naming the URL (password redacted);
 * while running, requests get 503 `store_unavailable` at once, /readyz says not ready, and service
 * resumes by itself. Redis is a throwaway redis-server on a random port (never the shared one);
 * PostgreSQL is "taken down" by closing a TCP proxy in front of it (never the shared server).
 */

const redisSkip = missingProgram('redis-server', 'Redis failure tests');
const pgSkip = await postgresMissing();

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    if (await answers(port)) return child;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill('SIGKILL');
  throw new Error('redis-server did not start');
}

async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** A TCP proxy to PostgreSQL that the test can cut (all connections dropped, port closed) and restore. */
class CuttableProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  constructor(
    readonly port: number,
    private readonly target: number,
  ) {}
  async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.target, '127.0.0.1');
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.once('close', () => this.sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.server = server;
  }
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check().catch(() => false)) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms`);
}

async function createGrant(node: NodeProcess): Promise<{ status: number; body: Record<string, unknown>; ms: number }> {
  const started = Date.now();
  const response = await fetch(`${node.url}/api/v1/grants`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ label: 'failure test' }),
    signal: AbortSignal.timeout(15_000),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown>, ms: Date.now() - started };
}

/** While the store is down: fast 503s with the machine code and a not-ready /readyz. */
async function expectUnavailable(node: NodeProcess): Promise<void> {
  const attempt = await createGrant(node);
  expect(attempt.status).toBe(503);
  expect(attempt.body).toMatchObject({ error: 'store_unavailable' });
  expect(attempt.ms).toBeLessThan(8_000);
  const ready = await fetch(`${node.url}/readyz`, { signal: AbortSignal.timeout(15_000) });
  expect(ready.status).toBe(503);
  expect(await ready.json()).toMatchObject({ status: 'not_ready' });
  // Liveness is not readiness: the process itself is fine.
  expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
}

/**
 * After the outage: a grant made on `a`, a long-poll on `a`, the approval on `b`: the waiter wakes at
 * once, so the node's subscriber (Redis) or listener (PostgreSQL) came back by itself.
 */
async function expectCrossNodeWakeUp(a: NodeProcess, b: NodeProcess): Promise<void> {
  const created = await createGrant(a);
  expect(created.status).toBe(201);
  const { id, code } = created.body as { id: string; code: string };
  const polling = fetch(`${a.url}/api/v1/grants/${id}?wait=30`).then(async (response) => ({ at: Date.now(), body: (await response.json()) as Record<string, unknown> }));
  await new Promise((resolve) => setTimeout(resolve, 300));
  const approval = await fetch(`${b.url}/api/v1/codes/${encodeURIComponent(code)}/approve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  const approvedAt = Date.now();
  expect(approval.status).toBe(200);
  const woken = await polling;
  expect(woken.body).toMatchObject({ id, state: 'approved' });
  // Without a working subscriber the waiter would answer only at its 30 s timeout; a loaded CI
  // machine can take a second to pass the wake-up along, so the bound is generous but far below it.
  expect(woken.at - approvedAt).toBeLessThan(3_000);
}

describe('store failures', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  });

  it('fails start-up with a clear message naming the Redis URL, password redacted', async () => {
    ensureBuilt();
    const port = await freePort();
    const { code, stderr } = await failingStart({ PAIRGATE_REDIS_URL: `redis://:hunter2secret@127.0.0.1:${port}` });
    expect(code).toBe(1);
    expect(stderr).toContain(`cannot use Redis at redis://:***@127.0.0.1:${port}`);
    expect(stderr).toContain('store_unavailable');
    expect(stderr).not.toContain('hunter2secret');
  });

  it('fails start-up with a clear message naming the PostgreSQL URL, password redacted', async () => {
    ensureBuilt();
    const port = await freePort();
    const { code, stderr } = await failingStart({ PAIRGATE_DATABASE_URL: `postgres://pairgate:hunter2secret@127.0.0.1:${port}/pairgate` });
    expect(code).toBe(1);
    expect(stderr).toContain(`cannot use PostgreSQL at postgres://pairgate:***@127.0.0.1:${port}/pairgate`);
    expect(stderr).not.toContain('hunter2secret');
  });

  it.skipIf(Boolean(redisSkip))(`answers 503 store_unavailable while Redis is down and resumes by itself${redisSkip ? ` (skipped: ${redisSkip})` : ''}`, async () => {
    ensureBuilt();
    const port = await freePort();
    let redis = await startRedis(port);
    cleanups.push(() => stopRedis(redis));
    const env = { PAIRGATE_REDIS_URL: `redis://127.0.0.1:${port}`, PAIRGATE_REDIS_PREFIX: 'failure-test:' };
    const [node, other] = await Promise.all([startNode(env), startNode(env)]);
    cleanups.push(() => node.stop(), () => other.stop());
    expect((await createGrant(node)).status).toBe(201);

    await stopRedis(redis);
    await expectUnavailable(node);

    redis = await startRedis(port);
    for (const n of [node, other]) await until('service resumed', async () => (await fetch(`${n.url}/readyz`)).status === 200);
    expect((await createGrant(node)).status).toBe(201);
    await expectCrossNodeWakeUp(node, other);
    expect(node.child.exitCode).toBeNull();
  }, 60_000);

  it.skipIf(Boolean(pgSkip))(`answers 503 store_unavailable while PostgreSQL is unreachable and resumes by itself${pgSkip ? ` (skipped: ${pgSkip})` : ''}`, async () => {
    ensureBuilt();
    const database = await createTestDatabase();
    cleanups.push(() => database.drop());
    const target = new URL(database.url);
    const proxy = new CuttableProxy(await freePort(), Number(target.port || 5432));
    await proxy.open();
    cleanups.push(() => proxy.cut());
    const viaProxy = new URL(database.url);
    viaProxy.port = String(proxy.port);
    // Node A reaches PostgreSQL through the proxy that is cut; node B directly.
    const node = await startNode({ PAIRGATE_DATABASE_URL: viaProxy.toString() });
    const other = await startNode({ PAIRGATE_DATABASE_URL: database.url });
    cleanups.push(() => node.stop(), () => other.stop());
    expect((await createGrant(node)).status).toBe(201);

    await proxy.cut();
    await expectUnavailable(node);

    await proxy.open();
    await until('service resumed', async () => (await fetch(`${node.url}/readyz`)).status === 200);
    expect((await createGrant(node)).status).toBe(201);
    await expectCrossNodeWakeUp(node, other);
    expect(node.child.exitCode).toBeNull();
  }, 60_000);
});
