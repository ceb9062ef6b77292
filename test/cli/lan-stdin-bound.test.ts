import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { readStdinText } from '../../src/cli/stdin-text.js';
import { CLI, ensureBuilt } from '../helpers/cli.js';

/**
 * `lan join -` (and `lan inspect -`, `lan join --code -`) read all of a piped stdin into memory
 * before the connection string's 600-character limit applied: `yes | pairgate lan join -` grew
 * until the machine killed it. Stdin is now read up to 4 KiB, and more is refused with the
 * argument's own length error.
 */

/** Runs the CLI with an endless stdin ("y\n" forever); resolves with what it said and how it ended. */
function withEndlessInput(args: string[]): Promise<{ code: number | null; stderr: string; written: number }> {
  const child = spawn('node', [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let written = 0;
  child.stderr.on('data', (chunk: Buffer) => { stderr += String(chunk); });
  child.stdout.resume();
  child.stdin.on('error', () => undefined);
  const chunk = Buffer.from('y\n'.repeat(32 * 1024));
  const pump = () => {
    while (!child.stdin.destroyed && child.exitCode === null) {
      written += chunk.length;
      if (!child.stdin.write(chunk)) return void child.stdin.once('drain', pump);
    }
  };
  pump();
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) => child.once('exit', (code) => {
    clearTimeout(timer);
    resolve({ code, stderr, written });
  }));
}

/** Runs the CLI with `input` on stdin, then its end; resolves with what it said on stderr and its exit code. */
function runWithInput(args: string[], input: string): Promise<{ code: number | null; stderr: string }> {
  const child = spawn('node', [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => { stderr += String(chunk); });
  child.stdout.resume();
  child.stdin.on('error', () => undefined);
  child.stdin.end(input);
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) => child.once('exit', (code) => {
    clearTimeout(timer);
    resolve({ code, stderr });
  }));
}

describe('a "-" argument read from a pipe', () => {
  beforeAll(() => ensureBuilt(), 120_000);

  it('endless input: refused with the length error, exit 2, without waiting for its end', async () => {
    const [join, inspect, code] = await Promise.all([
      withEndlessInput(['lan', 'join', '-', '--no-discovery']),
      withEndlessInput(['lan', 'inspect', '-']),
      withEndlessInput(['lan', 'join', '--code', '-', '--address', '127.0.0.1', '--port', '9']),
    ]);
    expect(join).toMatchObject({ code: 2, stderr: 'pairgate: The connection string read from stdin is too long (over 4096 bytes; a string has at most 600 characters). [lan_bad_connection_string]\n' });
    expect(inspect).toMatchObject({ code: 2, stderr: expect.stringContaining('[lan_bad_connection_string]') as unknown as string });
    expect(code).toMatchObject({ code: 2, stderr: 'pairgate: The pairing code read from stdin is too long (over 4096 bytes; a code has 8 digits). [lan_bad_code]\n' });
  }, 60_000);

  it('empty input: said as nothing read from standard input, not as a string or code that is not one, exit 2', async () => {
    const [join, inspect, code] = await Promise.all([
      runWithInput(['lan', 'join', '-', '--no-discovery'], ''),
      runWithInput(['lan', 'inspect', '-'], '  \n'),
      runWithInput(['lan', 'join', '--code', '-', '--address', '127.0.0.1', '--port', '9'], ''),
    ]);
    const said = (what: string, code: string) => `pairgate: Nothing was read from standard input, where "-" takes ${what} from: pipe or redirect it in, or run the command at a terminal and paste it when asked. [${code}]\n`;
    expect(join).toEqual({ code: 2, stderr: said('the connection string', 'lan_bad_connection_string') });
    expect(inspect).toEqual({ code: 2, stderr: said('the connection string', 'lan_bad_connection_string') });
    expect(code).toEqual({ code: 2, stderr: said('the pairing code', 'lan_bad_code') });
  }, 60_000);

  it('readStdinText stops pulling once past its bound', async () => {
    let pulled = 0;
    const endless = new Readable({ read() { pulled++; this.push(Buffer.alloc(1024, 0x41)); } });
    expect(await readStdinText(4096, endless)).toBeUndefined();
    expect(pulled).toBeLessThan(64);
    expect(await readStdinText(4096, Readable.from([Buffer.from(' pg1:abc \n')]))).toBe(' pg1:abc \n');
    expect(await readStdinText(4, Readable.from([Buffer.from('abcd')]))).toBe('abcd');
  });
});
