import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { CLI } from './node-process.js';

export { CLI, ensureBuilt } from './node-process.js';

/** What a CLI run printed, and its exit status. */
export interface CliRun {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs `pairgate <args>` to its end with `env` on top of this process's environment. */
export async function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<CliRun> {
  try {
    const { stdout, stderr } = await promisify(execFile)('node', [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: timeoutMs });
    return { status: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { status: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** What a CLI run under a prefix printed, and its exit code (-1 when a signal ended it). */
export interface CliExit {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `pairgate <args>` to its end under the command `prefix` (`setpriv` to run as another user,
 * `unshare` for a mount namespace of its own), or directly when `prefix` is empty.
 */
export function runCliUnder(args: string[], prefix: string[] = []): Promise<CliExit> {
  const [command, ...rest] = [...prefix, 'node', CLI, ...args];
  const child = spawn(command!, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => { stdout += String(chunk); });
  child.stderr.on('data', (chunk: Buffer) => { stderr += String(chunk); });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code: code ?? -1, stdout, stderr })));
}
