import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, expect } from 'vitest';
import { CLI } from '../helpers/node-process.js';

/** How a CLI child ended: its exit code, or the signal that ended it (Ctrl-C re-raised: SIGINT). */
export interface ChildEnd {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Sends the child `signal` (SIGINT by default) from inside, the moment it writes a chunk matching `pattern`. */
export interface SignalAtLine {
  pattern: RegExp;
  signal?: NodeJS.Signals;
}

/** The preload that does {@link SignalAtLine}'s sending. */
const SIGNAL_AT_LINE = fileURLToPath(new URL('./fixtures/signal-at-line.cjs', import.meta.url));

/** A running `pairgate` child with what it printed so far. */
export interface CliChild {
  child: ChildProcess;
  exited: Promise<ChildEnd>;
  out(): string;
  err(): string;
  /** Waits (15 s at most) until `pattern` appears in `stream` (standard output by default) or the child ends. */
  waitFor(pattern: RegExp, stream?: () => string): Promise<RegExpExecArray>;
}

/**
 * A starter of the built CLI for one test file, for the tests that signal it mid-wait (Ctrl-C):
 * every child it starts is killed after the file's tests if it is still running, so a test that
 * failed before its signal leaves no process behind.
 */
export function cliChildren(): (args: string[], options?: { signalAt?: SignalAtLine; preload?: string; env?: Record<string, string> }) => CliChild {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return (args, options = {}) => {
    const { signalAt } = options;
    // `preload`: another fixture of the test's (`-r`), with `env` on top of this process's environment.
    const preload = [...(signalAt ? ['-r', SIGNAL_AT_LINE] : []), ...(options.preload ? ['-r', options.preload] : [])];
    const env = { ...process.env, ...options.env, ...(signalAt ? { PAIRGATE_TEST_SIGNAL_AT: signalAt.pattern.source, PAIRGATE_TEST_SIGNAL: signalAt.signal ?? 'SIGINT' } : {}) };
    const child = spawn(process.execPath, [...preload, CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env });
    children.push(child);
    let out = '';
    let err = '';
    child.stdout!.on('data', (chunk) => (out += String(chunk)));
    child.stderr!.on('data', (chunk) => (err += String(chunk)));
    const exited = new Promise<ChildEnd>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const waitFor = async (pattern: RegExp, stream: () => string = () => out): Promise<RegExpExecArray> => {
      await expect.poll(() => pattern.test(stream()) || child.exitCode !== null, { timeout: 15_000, interval: 20 }).toBe(true);
      const match = pattern.exec(stream());
      expect(match, `${out}\n${err}`).not.toBeNull();
      return match!;
    };
    return { child, exited, waitFor, out: () => out, err: () => err };
  };
}
