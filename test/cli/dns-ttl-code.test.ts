import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runCli } from '../helpers/cli.js';
import { runAll } from './command-table.js';

beforeAll(ensureBuilt, 120_000);

/**
 * `box dns set --ttl` out of range is refused before any request with the DNS update API's own code
 * for a TTL it refuses, `invalid_ttl`: a script handles one code whichever side said no. It said
 * `[invalid_request]`.
 */
describe('box dns set --ttl out of range: invalid_ttl, as the DNS update API says it', () => {
  it('too long, before any request: the range in words, [invalid_ttl], exit 2', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'pairgate-cli-dns-ttl-')), 'box');
    expect((await runCli(['box', 'init', '--dir', dir])).status).toBe(0);
    // Port 9: nothing is asked of it, the option is refused first.
    const args = ['--dir', dir, '--zone', 'box.example.test', '--update-api', 'https://127.0.0.1:9'];
    const [long, day] = await runAll([
      ['box', 'dns', 'set', 'nas', 'A', '10.9.8.7', '--ttl', '99999', ...args],
      ['box', 'dns', 'set', 'nas', 'A', '10.9.8.7', '--ttl', '25h', ...args],
    ]);
    expect(long).toEqual({ status: 2, stdout: '', stderr: 'pairgate: --ttl must be from 0 s to 24 h; "99999" is 99999 s. [invalid_ttl]\n' });
    expect(day).toEqual({ status: 2, stdout: '', stderr: 'pairgate: --ttl must be from 0 s to 24 h; "25h" is 25 h. [invalid_ttl]\n' });
  }, 60_000);
});
