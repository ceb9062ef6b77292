import { spawn } from 'node:child_process';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { InvalidRequestError, UnavailableError } from '../../src/core/errors.js';
import { CLOSED_PIPE_EXIT_CODE, reportCliError } from '../../src/cli/output.js';
import { CLI, ensureBuilt } from '../helpers/cli.js';
import { PairgateApiError } from '../../src/sdk/errors.js';

describe('the exit code of a failed command (README: 2 for what the person fixes, 1 otherwise)', () => {
  afterEach(() => vi.restoreAllMocks());

  it('is 2 for bad input and for a TLS refusal fixed by an option, 1 for a server or network failure', () => {
    const printed: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((line: string) => void printed.push(line));
    expect(reportCliError(new InvalidRequestError('The code is malformed.'))).toBe(2);
    expect(reportCliError(new UnavailableError('Try again shortly.'))).toBe(1);
    expect(reportCliError(new PairgateApiError(404, 'code_not_found', 'No live request has this code.'))).toBe(2);
    expect(reportCliError(new PairgateApiError(503, 'store_unavailable', 'A backing store is unreachable.'))).toBe(1);
    expect(reportCliError(new PairgateApiError(0, 'tls_untrusted', 'https://box:8443 presented a TLS certificate this client does not trust.'))).toBe(2);
    expect(reportCliError(new PairgateApiError(0, 'tls_name_mismatch', 'https://box:8443: the certificate does not name box.'))).toBe(2);
    expect(reportCliError(new PairgateApiError(0, 'network_error', 'Nothing answers at http://127.0.0.1:9.'))).toBe(1);
    expect(printed[4]).toBe('pairgate: https://box:8443 presented a TLS certificate this client does not trust. [tls_untrusted]');
  });
});

/**
 * Runs `pairgate <args>` with its standard output (or error) a pipe whose reader has closed before
 * anything was written, as `| head -1` leaves it once head has its line.
 */
function runWithClosedReader(args: string[], closed: 'stdout' | 'stderr'): Promise<{ status: number | null; signal: string | null; other: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('node', [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child[closed].destroy();
    let other = '';
    child[closed === 'stdout' ? 'stderr' : 'stdout'].on('data', (chunk: Buffer) => void (other += chunk.toString()));
    child.once('error', reject);
    child.once('close', (status, signal) => resolve({ status, signal, other }));
  });
}

describe('a reader that stops reading (`pairgate ... | head -1`)', () => {
  beforeAll(ensureBuilt, 120_000);

  for (const args of [['--help'], ['box', 'advertise', '--help'], ['version'], ['grant', 'create', '--help'], ['serve', '--help-config']]) {
    it(`ends \`pairgate ${args.join(' ')}\` quietly with the code of a SIGPIPE, not an EPIPE stack trace`, async () => {
      const run = await runWithClosedReader(args, 'stdout');
      expect(run.other).toBe('');
      expect(run.status).toBe(CLOSED_PIPE_EXIT_CODE);
    });
  }

  it('also when standard error is the closed pipe (`2>&1 | head -1`)', async () => {
    // Bad input: the one line goes to standard error.
    const run = await runWithClosedReader(['grant', 'show', 'abcd', '--server', 'not a url'], 'stderr');
    expect(run.other).toBe('');
    expect(run.status).toBe(CLOSED_PIPE_EXIT_CODE);
  });
});
