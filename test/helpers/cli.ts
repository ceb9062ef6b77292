import { execFile } from 'node:child_process';
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
