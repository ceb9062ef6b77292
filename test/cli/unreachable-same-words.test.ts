import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../helpers/cli.js';
import { freePort as closedPort } from '../helpers/ports.js';
import { runAll } from './command-table.js';

beforeAll(ensureBuilt, 120_000);

/** What each command says after "Cannot reach <url> (ECONNREFUSED). ", without its machine code. */
function advice(stderr: string): string | undefined {
  return /^pairgate: Cannot reach \S+ \(ECONNREFUSED\)\. (.*) \[network_error\]\n$/.exec(stderr)?.[1];
}

/**
 * A pairgate server that cannot be reached is said in one wording by every command that calls one:
 * `grant ...` said "Check the address and that the server runs", `session ...` "Check the address
 * and your connection" (and so did `join`) of the same failure.
 */
describe('a server that cannot be reached: the same words from grant, session and join', () => {
  it('"Check the address, your connection, and that the server runs." [network_error], exit 1, from each', async () => {
    const server = `http://127.0.0.1:${await closedPort()}`;
    const runs = await runAll([
      ['grant', 'show', 'ABCD-EFGH-J', '--server', server],
      ['session', 'list', '--server', server, '--user', 'support', '--password', '1234'],
      ['session', 'show', 'helping-joe', '--server', server, '--user', 'support', '--password', '1234'],
      ['join', '7auu83', '--relay', `${server}/relay`],
    ]);
    for (const run of runs) {
      expect(run.status, run.stderr).toBe(1);
      expect(advice(run.stderr), run.stderr).toBe('Check the address, your connection, and that the server runs.');
    }
  }, 60_000);
});
