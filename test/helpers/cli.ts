import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** The built CLI the tests run, as a user would (`node dist/cli/main.js`). */
export const CLI = join(process.cwd(), 'dist/cli/main.js');

/** Builds the CLI when a test file runs alone before any build (call from `beforeAll`, with a long timeout). */
export function ensureCliBuilt(): void {
  if (!existsSync(CLI)) execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}

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
