import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runCli } from '../helpers/cli.js';
import { freePort as closedPort } from '../helpers/ports.js';

beforeAll(ensureBuilt, 120_000);

/**
 * A server that is not running is said in the shape of every other CLI error, "pairgate:
 * <sentence> [<code>]": its code, network_error, was left off, so a script reading the last
 * bracket found none, and a person saw the one error without a code.
 */
describe('a pairgate server that is not running', () => {
  it('grant create, show, approve and refuse: "Cannot reach <url> (ECONNREFUSED). ... [network_error]", exit 1', async () => {
    const server = `http://127.0.0.1:${await closedPort()}`;
    const runs = await Promise.all([
      ['grant', 'create', '--label', 'Let the printer in', '--server', server],
      ['grant', 'show', 'ABCD-EFGH-J', '--server', server],
      ['grant', 'approve', 'ABCD-EFGH-J', '--yes', '--server', server],
      ['grant', 'refuse', 'ABCD-EFGH-J', '--server', server],
    ].map((args) => runCli(args)));
    for (const run of runs) {
      expect(run).toMatchObject({ status: 1, stdout: '', stderr: `pairgate: Cannot reach ${server} (ECONNREFUSED). Check the address, your connection, and that the server runs. [network_error]\n` });
    }
  }, 60_000);

  it('session list: the same shape, with its code', async () => {
    const server = `http://127.0.0.1:${await closedPort()}`;
    const run = await runCli(['session', 'list', '--server', server, '--user', 'support', '--password', '1234']);
    expect(run.status, run.stderr).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^pairgate: Cannot reach ${server.replace(/\./g, '\\.')} \\(ECONNREFUSED\\)\\. .+\\. \\[network_error\\]\\n$`));
  }, 60_000);
});
