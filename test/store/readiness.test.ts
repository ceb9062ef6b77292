import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { loadConfig } from '../../src/server/config.js';
import { isStoreUnreachable } from '../../src/store/store-errors.js';
import { openStores } from '../../src/server/open-stores.js';
import type { Stores } from '../../src/store/ports.js';
import { createTestDatabase, postgresMissing } from '../helpers/services.js';
import { missingProgram } from '../helpers/system.js';
import { freePort } from '../helpers/ports.js';

/**
 * What a node's readiness check (`Stores.ping`, shown by /readyz) says when a store is away: which
 * store, in words, and never its address (/readyz answers anyone); it clears by itself when the
 * store is back; and a PostgreSQL connection lost while a request holds it fails that request
 * without an uncaught exception. Redis is a throwaway redis-server, PostgreSQL is reached through a
 * TCP proxy the test cuts (never the shared servers).
 */

const redisSkip = missingProgram('redis-server', 'readiness tests');
const pgSkip = await postgresMissing();

/** A TCP proxy to PostgreSQL on `port` that the test cuts (every connection dropped, port closed) and opens again. */
function cuttableProxy(port: number, target: number) {
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  return {
    async open(): Promise<void> {
      server = createServer((client) => {
        const upstream = connect(target, '127.0.0.1');
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.once('close', () => sockets.delete(socket));
          socket.on('error', () => {
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream).pipe(client);
      });
      await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
    },
    async cut(): Promise<void> {
      const closing = server;
      server = undefined;
      for (const socket of sockets) socket.destroy();
      if (closing) await new Promise((resolve) => closing.close(resolve));
    },
  };
}

/**
 * A TCP proxy to Redis on `target`, on a port of the system's choosing (`port`), that the test can
 * make hang: `stall()` drops every connection and then accepts new ones without ever answering (a
 * hung Redis, or a proxy or half-open path in front of it); `forward()` forwards new ones again,
 * leaving the stalled ones stalled.
 */
async function stallingProxy(target: number) {
  let stalled = false;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    client.once('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    if (stalled) return;
    const upstream = connect(target, '127.0.0.1');
    sockets.add(upstream);
    upstream.once('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  // Port 0: the port is the one it listens on, with no window for another process to take it first.
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    stall(): void {
      stalled = true;
      for (const socket of sockets) socket.destroy();
    },
    forward(): void {
      stalled = false;
    },
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}

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

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

describe.skipIf(Boolean(redisSkip))(`readiness with Redis away${redisSkip ? ` (skipped: ${redisSkip})` : ''}`, () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  });

  it('names Redis, not the driver\'s "Stream isn\'t writeable and enableOfflineQueue options is false", and clears when it is back', async () => {
    const port = await freePort();
    let redis = await startRedis(port);
    cleanups.push(() => stop(redis));
    const config = loadConfig([], { env: { PAIRGATE_DATA_DIR: mkdtempSync(join(tmpdir(), 'pairgate-ready-')), PAIRGATE_REDIS_URL: `redis://127.0.0.1:${port}`, PAIRGATE_REDIS_PREFIX: 'ready-test:' } });
    const stores: Stores = await openStores(config, []);
    cleanups.push(() => stores.close());
    await stores.ping();
    await stop(redis);
    const failure = await stores.ping().then(() => undefined, (error: unknown) => error as Error);
    expect(failure?.message).toMatch(/^Redis (does not answer|subscriber is \w+); this node reconnects by itself/);
    expect(failure?.message).not.toContain(String(port));
    redis = await startRedis(port);
    for (let i = 0; i < 100; i++) {
      if (await stores.ping().then(() => true, () => false)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('still not ready 10 s after Redis came back');
  });

  it('a Redis that accepts the subscriber\'s connection and never answers: the subscriber reconnects once it answers again', async () => {
    const port = await freePort();
    const redis = await startRedis(port);
    cleanups.push(() => stop(redis));
    const proxy = await stallingProxy(port);
    const proxyPort = proxy.port;
    cleanups.push(() => proxy.close());
    const config = loadConfig([], { env: { PAIRGATE_DATA_DIR: mkdtempSync(join(tmpdir(), 'pairgate-ready-')), PAIRGATE_REDIS_URL: `redis://127.0.0.1:${proxyPort}`, PAIRGATE_REDIS_PREFIX: 'stall-test:' } });
    const stores: Stores = await openStores(config, []);
    cleanups.push(() => stores.close());
    await stores.ping();
    proxy.stall();
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(await stores.ping().then(() => 'ready', (error: Error) => error.message)).toMatch(/^Redis (does not answer|subscriber is \w+); this node reconnects by itself/);
    proxy.forward();
    // Its stalled connection is never answered: only a reconnect of its own brings it back.
    for (let i = 0; i < 150; i++) {
      if (await stores.ping().then(() => true, () => false)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('the subscriber is still not ready 15 s after Redis answered again');
  }, 30_000);
});

describe.skipIf(Boolean(pgSkip))(`readiness with PostgreSQL away${pgSkip ? ` (skipped: ${pgSkip})` : ''}`, () => {
  it('names PostgreSQL, never its address, and clears when it is back', async () => {
    const database = await createTestDatabase();
    const port = await freePort();
    const target = new URL(database.url);
    const proxy = cuttableProxy(port, Number(target.port || 5432));
    await proxy.open();
    const url = new URL(database.url);
    url.hostname = '127.0.0.1';
    url.port = String(port);
    const config = loadConfig([], { env: { PAIRGATE_DATA_DIR: mkdtempSync(join(tmpdir(), 'pairgate-ready-')), PAIRGATE_DATABASE_URL: url.toString() } });
    const stores: Stores = await openStores(config, []);
    try {
      await stores.ping();
      // A transaction holds a connection when PostgreSQL goes: its query fails, the process lives
      // (pg emitted 'error' on the checked-out client, which had no listener: an uncaught exception).
      const holding = stores.db.transaction().execute(async (trx) => {
        await sql`select 1`.execute(trx);
        await new Promise((resolve) => setTimeout(resolve, 300));
        await sql`select 1`.execute(trx);
      }).then(() => undefined, (error: unknown) => error);
      await new Promise((resolve) => setTimeout(resolve, 100));
      await proxy.cut();
      expect(isStoreUnreachable(await holding)).toBe(true);
      const failure = await stores.ping().then(() => undefined, (error: unknown) => error as Error);
      expect(failure?.message).toMatch(/^PostgreSQL (does not answer|listener is reconnecting); this node reconnects by itself|^PostgreSQL listener is reconnecting$/);
      expect(failure?.message).not.toContain(String(port));
      await proxy.open();
      for (let i = 0; i < 100; i++) {
        if (await stores.ping().then(() => true, () => false)) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error('still not ready 10 s after PostgreSQL came back');
    } finally {
      await stores.close();
      await proxy.cut();
      await database.drop();
    }
  });
});
