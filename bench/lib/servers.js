// Helpers of the benchmarks: start pairgate or a bare Fastify baseline in a child process (so each
// gets its own core while autocannon runs in this one) and stop it again.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { nodeCommand } from './pinning.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Environment that lifts pairgate's rate limits and caps so the benchmark measures throughput, not
 * limits. Each is raised, not switched off, so that its accounting still runs on every request as
 * in the default configuration: the per-address cap stays just below the server-wide one, since a
 * cap not below it is not kept at all.
 */
export const UNLIMITED = {
  PAIRGATE_LOG_LEVEL: 'warn',
  PAIRGATE_RATE_LIMIT_MAX: '100000000',
  PAIRGATE_CODE_LOOKUPS_PER_MINUTE: '100000000',
  PAIRGATE_CODE_MISSES_PER_HOUR: '100000000',
  PAIRGATE_GRANTS_CREATE_PER_MINUTE: '100000000',
  PAIRGATE_MAX_LIVE_CODES: '10000000',
  PAIRGATE_GRANTS_MAX_LIVE_PER_IP: '9999999',
  PAIRGATE_BRUTE_FORCE_BUDGET: '1',
};

function waitForUrl(child, pattern) {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const match = pattern.exec(line);
      if (match) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

/** A stop function: SIGTERM, wait for the exit, then `cleanup`. */
function stopper(child, cleanup = () => {}) {
  return async () => {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    cleanup();
  };
}

/**
 * Starts `pairgate serve` on a free port with a fresh data folder, on the server CPU unless `pin` is
 * false (see pinning.js), under the command `wrap` when given; returns {url, pid, stop}, and with
 * `inspect` a `collectGarbage()` that runs a full GC in the server (through its inspector, on
 * loopback), so that memory is measured without the garbage a load leaves behind.
 */
export async function startPairgate(env = {}, { inspect = false, pin = true, wrap = [] } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-bench-'));
  const run = nodeCommand([...(inspect ? ['--inspect=127.0.0.1:0'] : []), join(root, 'dist/cli/main.js'), 'serve', '--port', '0', '--data-dir', dataDir], pin, wrap);
  const child = spawn(run.command, run.args, {
    env: { ...process.env, ...UNLIMITED, ...env },
    stdio: ['ignore', 'pipe', inspect ? 'pipe' : 'inherit'],
  });
  const inspector = inspect ? inspectorUrl(child) : undefined;
  const url = await waitForUrl(child, /^pairgate listening on (\S+)$/);
  return {
    url,
    pid: child.pid,
    collectGarbage: async () => collectGarbage(await inspector),
    stop: stopper(child, () => rmSync(dataDir, { recursive: true, force: true })),
  };
}

/** The inspector's WebSocket URL from the child's standard error (which is passed on). */
function inspectorUrl(child) {
  return new Promise((resolve) => {
    createInterface({ input: child.stderr }).on('line', (line) => {
      const match = /Debugger listening on (ws:\S+)/.exec(line);
      if (match) resolve(match[1]);
      else if (!/Debugger|For help, see/.test(line)) process.stderr.write(`${line}\n`);
    });
  });
}

/** Asks the inspector at `url` for a full garbage collection and waits until it is done. */
function collectGarbage(url) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.once('error', reject);
    socket.once('open', () => socket.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' })));
    socket.on('message', (data) => {
      if (JSON.parse(String(data)).id !== 1) return;
      socket.close();
      resolve();
    });
  });
}

/** Starts the bare baseline: Fastify with one JSON route per shape, nothing else. */
export function startBaseline({ wrap = [] } = {}) {
  return startReference('bare-server.js', 'bare', wrap);
}

/** Starts the creation floor (floor-server.js): the parts every creation requires, nothing else. */
export function startFloor({ wrap = [] } = {}) {
  return startReference('floor-server.js', 'floor', wrap);
}

/**
 * Starts one of the reference servers of bench/lib on the server CPU, under `wrap` when given;
 * returns {url, pid, stop}.
 */
async function startReference(file, name, wrap) {
  const run = nodeCommand([join(root, 'bench/lib', file)], true, wrap);
  const child = spawn(run.command, run.args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await waitForUrl(child, new RegExp(`^${name} listening on (\\S+)$`));
  return {
    url,
    pid: child.pid,
    stop: stopper(child),
  };
}
