import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runCli } from '../helpers/cli.js';
import { freePort as closedPort } from '../helpers/ports.js';
import { runAll } from './command-table.js';

beforeAll(ensureBuilt, 120_000);

/**
 * The registry (`box announce`) and the DNS update API (`box dns ...`) that cannot be reached were
 * said as `Cannot reach <url> (ECONNREFUSED).` and nothing more: no word of what to check, where
 * grant, session and join say it of every other pairgate server.
 */
describe('box announce and box dns: an unreachable server says what to check, as every command does', () => {
  it('"Check the address, your connection, and that the server runs." [network_error], exit 1', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'pairgate-cli-box-unreachable-')), 'box');
    expect((await runCli(['box', 'init', '--dir', dir])).status).toBe(0);
    const port = await closedPort();
    const dnsArgs = ['--dir', dir, '--zone', 'box.example.test', '--update-api', `https://127.0.0.1:${port}`];
    const runs = await runAll([
      ['box', 'announce', '--once', '--dir', dir, '--server', `http://127.0.0.1:${port}`],
      ['box', 'dns', 'list', ...dnsArgs],
      ['box', 'dns', 'set', 'nas', 'A', '10.9.8.7', ...dnsArgs],
    ]);
    for (const run of runs) {
      expect(run.status, run.stderr).toBe(1);
      expect(run.stderr).toMatch(/^pairgate: Cannot reach \S+ \(ECONNREFUSED\)\. Check the address, your connection, and that the server runs\. \[network_error\]\n$/);
    }
  }, 60_000);
});
