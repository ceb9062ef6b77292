import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** The compiled CLI, as operators run it. */
export const CLI = join(process.cwd(), 'dist/cli/main.js');

/** Builds dist/ when it is missing (npm test builds first; a lone vitest run may not have). */
export function ensureBuilt(): void {
  if (!existsSync(CLI)) execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}

/** A running `pairgate serve` process. */
export interface NodeProcess {
  url: string;
  child: ChildProcess;
  /** Standard error so far (the logs). */
  stderr(): string;
  /** SIGKILL, as a crash would: no graceful shutdown. */
  kill(): Promise<void>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<number | null>;
}

/**
 * Spawns `pairgate serve --port 0` with `env`; collects its standard error. Without a
 * PAIRGATE_DATA_DIR of the caller's it gets a fresh data folder, removed when it exits (nobody
 * else knows its path: a run of the suite left dozens behind).
 */
function spawnServe(env: Record<string, string>) {
  const ownDataDir = env.PAIRGATE_DATA_DIR === undefined ? mkdtempSync(join(tmpdir(), 'pairgate-node-')) : undefined;
  const child = spawn('node', [CLI, 'serve', '--port', '0'], {
    env: { ...process.env, ...(ownDataDir ? { PAIRGATE_DATA_DIR: ownDataDir } : {}), PAIRGATE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (ownDataDir) child.once('exit', () => rmSync(ownDataDir, { recursive: true, force: true }));
  let collected = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    collected += chunk.toString();
  });
  return { child, stderr: () => collected };
}

/**
 * Starts `node dist/cli/main.js serve --port 0` with `env` on top of a quiet default and resolves
 * with its URL (the first line of standard output), or rejects with its standard error when it exits
 * first or takes longer than `timeoutMs`.
 */
export async function startNode(env: Record<string, string>, timeoutMs = 45_000): Promise<NodeProcess> {
  const { child, stderr } = spawnServe(env);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`pairgate did not start within ${timeoutMs} ms: ${stderr()}`));
    }, timeoutMs);
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      const match = /^pairgate listening on (\S+)$/.exec(line);
      if (match) resolve(match[1]!);
      else reject(new Error(`unexpected first line: ${line}`));
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`pairgate exited with ${code}: ${stderr()}`));
    });
  });
  return {
    url,
    child,
    stderr,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Runs `pairgate serve` expecting it to fail; resolves with its exit code and standard error. */
export async function failingStart(env: Record<string, string>, timeoutMs = 20_000): Promise<{ code: number | null; stderr: string }> {
  const { child, stderr } = spawnServe(env);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  return { code, stderr: stderr() };
}
