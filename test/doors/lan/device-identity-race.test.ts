import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificatePin } from '../../../src/doors/lan/tls-identity.js';
import { ensureBuilt } from '../../helpers/node-process.js';
import { deviceDir } from './lan-fixtures.js';

// Separate Node processes, as two `pairgate lan ...` commands started at once on a fresh config
// folder are. They load the built modules (dist/), so run `npm run build` first when src/ changed
// (npm test does).
const dist = (path: string) => JSON.stringify(pathToFileURL(join(process.cwd(), 'dist/doors/lan', path)).href);
const PROCESSES = 8;
const children: ChildProcess[] = [];

beforeAll(() => ensureBuilt(), 120_000);
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

interface Loaded {
  deviceId: string;
  pin: string;
}

/**
 * Runs `PROCESSES` Node processes that each load (making it on first use) the device identity of
 * `dir` at the same moment: each says when it is ready and waits for a word on its standard input,
 * sent to all once all are ready (starting 8 processes on a busy machine takes seconds). Each
 * prints the identity it got. Before creation was made create-once, each made its own key and the
 * last write won, so up to 8 different keys were reported and at most one matched the file.
 */
async function loadsAtOnce(dir: string): Promise<Loaded[]> {
  const script = `
    const { loadDeviceIdentity } = await import(${dist('device-identity.js')});
    const { createInterface } = await import('node:readline');
    const go = new Promise((resolve) => createInterface({ input: process.stdin }).once('line', resolve));
    process.stdout.write('ready\\n');
    await go;
    const device = await loadDeviceIdentity(process.argv[1]);
    process.stdout.write(JSON.stringify({ deviceId: device.deviceId, pin: device.spkiSha256.toString('base64url') }) + '\\n');
    process.exit(0);
  `;
  const started = Array.from({ length: PROCESSES }, () => spawn('node', ['--input-type=module', '-e', script, dir], { stdio: ['pipe', 'pipe', 'pipe'] }));
  children.push(...started);
  const stderr = started.map((child) => {
    const chunks: string[] = [];
    child.stderr!.on('data', (chunk: Buffer) => chunks.push(String(chunk)));
    return chunks;
  });
  const ended = (i: number) => new Error(`loading process ${i} ended early: ${stderr[i]!.join('')}`);
  const lines = started.map((child) => {
    const queue: string[] = [];
    const waiting: ((line: string) => void)[] = [];
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const next = waiting.shift();
      if (next) next(line);
      else queue.push(line);
    });
    return () => new Promise<string>((resolve) => {
      const line = queue.shift();
      if (line !== undefined) resolve(line);
      else waiting.push(resolve);
    });
  });
  const exits = started.map((child, i) => new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => (code === 0 ? resolve() : reject(ended(i))));
  }));
  // A process that fails before it is ready must fail the test, not leave it waiting.
  const failed = Promise.all(exits).then(() => new Promise<never>(() => undefined));
  await Promise.race([Promise.all(lines.map((next) => next())), failed]);
  for (const child of started) child.stdin!.write('go\n');
  const results = await Promise.race([Promise.all(lines.map((next) => next())), failed]);
  await Promise.all(exits);
  return results.map((line) => JSON.parse(line) as Loaded);
}

describe('device identity made by several processes at once', () => {
  it(`${PROCESSES} processes loading a fresh config folder at the same moment all use the one identity in device.json`, async () => {
    const dir = deviceDir('identity-race');
    const loaded = await loadsAtOnce(dir);
    const stored = JSON.parse(readFileSync(join(dir, 'device.json'), 'utf8')) as { deviceId: string; certPem: string };
    const onDisk: Loaded = { deviceId: stored.deviceId, pin: certificatePin(stored.certPem).toString('base64url') };
    expect(loaded).toEqual(Array.from({ length: PROCESSES }, () => onDisk));
    expect(statSync(join(dir, 'device.json')).mode & 0o777).toBe(0o600);
    // The losers' candidate files are gone: only the identity is left.
    expect(readdirSync(dir)).toEqual(['device.json']);
  }, 60_000);
});
