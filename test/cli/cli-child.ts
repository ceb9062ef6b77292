import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, expect } from 'vitest';
import { CLI } from '../helpers/node-process.js';

/** How a CLI child ended: its exit code, or the signal that ended it (Ctrl-C re-raised: SIGINT). */
export interface ChildEnd {
  code: number | null;
  signal: NodeJS.Signals | null;
}

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
export function cliChildren(): (args: string[]) => CliChild {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return (args) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
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
