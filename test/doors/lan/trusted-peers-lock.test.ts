import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrustedPeerStore } from '../../../src/doors/lan/trusted-peers.js';
import { ensureBuilt } from '../../helpers/node-process.js';
import { deviceDir } from './lan-fixtures.js';

// Separate Node processes, as two `pairgate lan join` run at once are. They load the built modules
// (dist/), so run `npm run build` first when src/ changed (npm test does).
const dist = (path: string) => JSON.stringify(pathToFileURL(join(process.cwd(), 'dist/doors/lan', path)).href);
const PROCESSES = 8;
const holders: ChildProcess[] = [];

beforeAll(() => ensureBuilt(), 120_000);
afterAll(() => {
  for (const child of holders) child.kill('SIGKILL');
});

/**
 * Runs `PROCESSES` Node processes that each save a peer of their own into `dir` at the same moment:
 * each says when it is ready and waits for a word on its standard input, sent to all once all are
 * ready (starting 8 processes on 2 busy cores takes seconds). Before the lock, only 1 to 3 of the
 * 8 peers were kept, in every run.
 */
async function savesAtOnce(dir: string): Promise<string[]> {
  const script = `
    const { TrustedPeerStore } = await import(${dist('trusted-peers.js')});
    const { createInterface } = await import('node:readline');
    const [dir, name] = process.argv.slice(1);
    const store = new TrustedPeerStore(dir);
    const go = new Promise((resolve) => createInterface({ input: process.stdin }).once('line', resolve));
    process.stdout.write('ready\\n');
    await go;
    await store.save({ deviceId: 'id-' + name, name, keySha256: 'key-' + name, addresses: ['10.0.0.2'] });
    process.exit(0);
  `;
  const names = Array.from({ length: PROCESSES }, (_, i) => `device-${i}`);
  const children = names.map((name) => spawn('node', ['--input-type=module', '-e', script, dir, name], { stdio: ['pipe', 'pipe', 'pipe'] }));
  holders.push(...children);
  const stderr = children.map((child) => {
    const chunks: string[] = [];
    child.stderr!.on('data', (chunk: Buffer) => chunks.push(String(chunk)));
    return chunks;
  });
  const ended = (i: number) => new Error(`saving process ${i} ended early: ${stderr[i]!.join('')}`);
  await Promise.all(children.map((child, i) => new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', () => resolve());
    child.once('exit', () => reject(ended(i)));
  })));
  const exits = children.map((child, i) => new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => (code === 0 ? resolve() : reject(ended(i))));
  }));
  for (const child of children) child.stdin!.write('go\n');
  await Promise.all(exits);
  return names.sort();
}

/**
 * A process that takes the lock of `dir`'s peers.json and keeps it (blocked, as a command that
 * hangs): resolves once it holds it.
 */
async function holdLock(dir: string): Promise<ChildProcess> {
  const script = `
    const { writeSync } = await import('node:fs');
    const { TrustedPeerStore } = await import(${dist('trusted-peers.js')});
    const { withFileLock } = await import(${dist('file-lock.js')});
    await withFileLock(new TrustedPeerStore(process.argv[1]).lockPath, () => {
      writeSync(1, 'held\\n');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    }, { busyError: () => new Error('busy') });
  `;
  const child = spawn('node', ['--input-type=module', '-e', script, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  holders.push(child);
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', () => resolve());
    child.once('exit', (code) => reject(new Error(`the lock holder exited with ${code}`)));
  });
  return child;
}

async function crash(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

const peer = (name: string) => ({ deviceId: `id-${name}`, name, keySha256: `key-${name}`, addresses: ['10.0.0.3'] });

describe('trusted peers changed by several processes at once', () => {
  it(`keeps every peer when ${PROCESSES} processes each add one at the same moment`, async () => {
    const dir = deviceDir('processes');
    const names = await savesAtOnce(dir);
    const store = new TrustedPeerStore(dir);
    expect(store.list().map((p) => p.name).sort()).toEqual(names);
    expect(existsSync(store.lockPath)).toBe(false);
  }, 10_000);

  it('a change waits for a live holder, then fails with lan_peers_file_busy saying what to do; a crashed holder is taken over at once', async () => {
    const dir = deviceDir('held');
    const store = new TrustedPeerStore(dir, { lockTimeoutMs: 400 });
    await store.save(peer('before'));
    const holder = await holdLock(dir);
    const started = Date.now();
    const busy = await store.save(peer('phone')).then(() => undefined, (error: unknown) => error);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(busy).toMatchObject({ code: 'lan_peers_file_busy', status: 503 });
    const message = (busy as Error).message;
    expect(message).toContain(`process ${holder.pid},`);
    expect(message).toContain(store.path);
    expect(message).toContain(`if no pairgate command is running, delete ${store.lockPath}`);
    await expect(store.remove('before')).rejects.toMatchObject({ code: 'lan_peers_file_busy' });
    expect(store.list().map((p) => p.name)).toEqual(['before']); // reading needs no lock
    // Killed while holding it: its process is gone, so the lock is stale now, not in 10 s.
    await crash(holder);
    expect(existsSync(store.lockPath)).toBe(true);
    const taken = Date.now();
    await store.save(peer('phone'));
    expect(Date.now() - taken).toBeLessThan(1000);
    expect(store.list().map((p) => p.name).sort()).toEqual(['before', 'phone']);
    expect(existsSync(store.lockPath)).toBe(false);
  }, 10_000);

  it(`keeps every peer when ${PROCESSES} processes at once find the lock a crashed command left`, async () => {
    const dir = deviceDir('stale');
    await crash(await holdLock(dir));
    const names = await savesAtOnce(dir);
    expect(new TrustedPeerStore(dir).list().map((p) => p.name).sort()).toEqual(names);
    expect(existsSync(join(dir, 'peers.json.lock'))).toBe(false);
    expect(existsSync(join(dir, 'peers.json.lock.break'))).toBe(false);
  }, 10_000);
});
