import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, ensureBuilt } from '../helpers/cli.js';

/** `pairgate join` with `input` on its standard input (a pipe, then its end), against a relay nobody listens on. */
function joinWith(input: string): { status: number | null; stdout: string; stderr: string } {
  // Port 9 (discard): no request is made before a code is valid, and none of these is.
  return spawnSync('node', [CLI, 'join', '--relay', 'http://127.0.0.1:9/relay'], { input, encoding: 'utf8', timeout: 20_000 });
}

/** The question, on standard error. */
const PROMPT = 'Pairing code (6 characters): ';

/** The lines of standard error but the questions. */
function errorLines(stderr: string): string[] {
  return stderr.trim().split('\n').filter((line) => line !== PROMPT);
}

/**
 * The pairing code asked for on standard input: a code that cannot be one is said at once, with
 * what it should look like, and asked again (three tries); the input ending is said as such.
 */
describe('pairgate join: the pairing code typed at its question', () => {
  beforeAll(() => ensureBuilt(), 120_000);

  it('nothing typed before the input ended: no code given, exit 2', () => {
    const run = joinWith('');
    expect(run.status).toBe(2);
    // The question is on standard error, its line ended since nothing echoes a piped answer.
    expect(run.stderr).toBe(`${PROMPT}\npairgate: No code given: run pairgate join with the code your supporter reads you, or type it at the question. [code_missing]\n`);
    expect(run.stdout).toBe('');
  });

  it('a code refused, then the input ended: says the input ended, not that no code was given', () => {
    const run = joinWith('abc\n');
    expect(run.status).toBe(2);
    const lines = errorLines(run.stderr);
    expect(lines).toHaveLength(2);
    // With its machine code, as the same code on the command line is refused.
    expect(lines[0]).toBe('pairgate: A code has 6 characters; this one has 3. Check that you typed all of it. [code_wrong_length]');
    expect(lines[1]).toBe('pairgate: The input ended before a valid code was given. [code_missing]');
  });

  it('three codes refused: no valid code after three tries, exit 2', () => {
    const run = joinWith('abc\nabcdefgh\n!!!!!!\nk7m2x9\n');
    expect(run.status).toBe(2);
    expect(run.stderr.split('\n').filter((line) => line === PROMPT)).toHaveLength(3);
    const lines = errorLines(run.stderr);
    expect(lines).toHaveLength(4);
    expect(lines[3]).toBe('pairgate: No valid code after three tries: ask your supporter to read it again, then run pairgate join again. [code_invalid]');
  });
});
