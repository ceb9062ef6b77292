import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { capConnections, connectionCap, DROP_LOG_INTERVAL_MS, openFileLimit, waitsOverCapWarning } from '../../src/server/connection-cap.js';
import { CLI, ensureBuilt } from '../helpers/node-process.js';
import { missingProgram } from '../helpers/system.js';

/** Opens `count` connections to `port` and resolves once each has connected or failed. */
async function openConnections(port: number, count: number, localPrefix = '127.0.0'): Promise<Socket[]> {
  const sockets: Socket[] = [];
  const settled: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    // Spread over loopback addresses, so no one address reaches a per-address cap first.
    const socket = connect({ host: '127.0.0.1', port, localAddress: `${localPrefix}.${1 + (i % 250)}` });
    settled.push(new Promise((resolve) => {
      socket.once('connect', () => resolve());
      socket.once('error', () => resolve());
    }));
    sockets.push(socket);
  }
  await Promise.all(settled);
  return sockets;
}

/** GET `path` on a fresh connection: its status, or the error's code (a connection reset). */
function statusOf(port: number, path: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, timeout: 5_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    req.end();
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('the connection cap under the open-file limit', () => {
  it('reads the soft open-file limit from /proc/self/limits, and nothing where it cannot', () => {
    const limits = 'Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 524288               files\n';
    expect(openFileLimit(() => limits)).toBe(1024);
    expect(openFileLimit(() => limits.replace('1024   ', 'unlimited'))).toBeUndefined();
    expect(openFileLimit(() => {
      throw new Error('ENOENT');
    })).toBeUndefined();
  });

  it('keeps a sixteenth of the free descriptors, at least 32, for the rest of the process', () => {
    expect(connectionCap(1024, 32)).toBe(1024 - 32 - 62);
    expect(connectionCap(128, 31)).toBe(128 - 31 - 32);
    expect(connectionCap(40, 31)).toBe(1);
  });

  it('warns at start-up when the waits alone may take every connection', () => {
    expect(waitsOverCapWarning(10_000, 930, 1024)).toMatch(/PAIRGATE_WAITS_MAX \(10000\).*open-file limit \(1024\).*\(930\)/);
    expect(waitsOverCapWarning(0, 930, 1024)).toMatch(/0, no limit/);
    expect(waitsOverCapWarning(500, 930, 1024)).toBeUndefined();
  });

  describe('on a real listener', () => {
    let server: Server | undefined;
    let sockets: Socket[] = [];
    afterEach(async () => {
      for (const socket of sockets) socket.destroy();
      sockets = [];
      await new Promise((resolve) => server?.close(resolve));
    });

    it('refuses connections beyond the cap and logs them once per interval, with how many, not once each', async () => {
      server = createServer(() => undefined);
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as { port: number }).port;
      const warned: string[] = [];
      let now = 1_000_000;
      capConnections(server, 3, 100, { warn: (message) => warned.push(message) }, () => now);
      sockets = await openConnections(port, 10);
      await sleep(200);
      expect(sockets.filter((socket) => !socket.destroyed).length).toBe(3);
      expect(warned).toEqual([expect.stringMatching(/^refused 1 connection: 3 are open, the most the open-file limit \(100/)]);
      sockets.push(...(await openConnections(port, 4)));
      await sleep(200);
      expect(warned).toHaveLength(1);
      now += DROP_LOG_INTERVAL_MS;
      sockets.push(...(await openConnections(port, 1)));
      await sleep(200);
      // Refused since the first warning: 6 more of the first 10, the 4, and the one that brought it.
      expect(warned).toEqual([expect.any(String), expect.stringMatching(/^refused 11 connections: 3 are open/)]);
    });
  });
});

/**
 * `pairgate serve` started under a low open-file limit (prlimit): a flood of connections beyond it
 * is refused with one warning in the log (before, libuv closed each silently: resets, and not a
 * word), some descriptors stay free, and the server serves again once the flood goes.
 */
describe('pairgate serve at its open-file limit (real process, prlimit)', () => {
  const skip = missingProgram('prlimit', 'starting the server under a low open-file limit');
  let child: ChildProcess | undefined;
  let dataDir: string | undefined;
  let sockets: Socket[] = [];
  beforeAll(() => ensureBuilt());
  afterEach(async () => {
    for (const socket of sockets) socket.destroy();
    sockets = [];
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it.skipIf(skip)('refuses connections beyond the limit with one warning, keeps descriptors free, and serves again after', async () => {
    // 1024: below about 512, Node's module loader itself runs out of descriptors at start-up.
    const limit = 1024;
    dataDir = mkdtempSync(join(tmpdir(), 'pairgate-limits-'));
    child = spawn('prlimit', [`--nofile=${limit}:${limit}`, 'node', CLI, 'serve', '--port', '0', '--data-dir', dataDir], {
      env: { ...process.env, PAIRGATE_LOG_LEVEL: 'warn', PAIRGATE_WAITS_MAX: '500' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child!.stdout! }).on('line', (line) => {
        const match = /listening on (\S+)/.exec(line);
        if (match) resolve(match[1]!);
      });
      child!.once('exit', (code) => reject(new Error(`pairgate exited with ${code}: ${stderr}`)));
    });
    const port = Number(new URL(url).port);
    // Idle connections: each holds a descriptor until the server's timeouts, far longer than this test.
    sockets = await openConnections(port, limit + 100, '127.0.1');
    await sleep(500);
    const refused = stderr.split('\n').filter((line) => line.includes('refused'));
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatch(/open-file limit \(1024/);
    // The cap, not the limit, stopped the flood: the process still opens what it needs.
    const open = sockets.filter((socket) => !socket.destroyed).length;
    expect(open).toBeLessThan(limit - 60);
    expect(open).toBeGreaterThan(limit / 2);
    for (const socket of sockets) socket.destroy();
    sockets = [];
    await sleep(500);
    expect(await statusOf(port, '/healthz')).toBe(200);
    // PAIRGATE_WAITS_MAX (500) is below the cap: no start-up warning.
    expect(stderr).not.toMatch(/lets open waits/);
  }, 20_000);
});
