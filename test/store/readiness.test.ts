import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/server/config.js';
import { openStores } from '../../src/server/open-stores.js';
import type { Stores } from '../../src/store/ports.js';
import { missingProgram } from '../helpers/system.js';
import { freePort } from '../helpers/ports.js';

/**
 * What a node's readiness check (`Stores.ping`, shown by /readyz) says when a store is away: which
 * store, in words, and never its address (/readyz answers anyone); it clears by itself when the
 * store is back. Redis is a throwaway redis-server (never the shared one).
 */

const redisSkip = missingProgram('redis-server', 'readiness tests');

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
});
