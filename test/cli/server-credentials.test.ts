import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runDoctor } from '../../src/doors/lan/doctor.js';
import { ensureBuilt, runCli } from '../helpers/cli.js';

/**
 * `pairgate doctor --json --server http://user:pw@host/` put the password in the report, which is
 * made to be shared with a supporter, and on stderr (fetch's error quotes the URL whole). A server
 * URL with a user name or password is now refused where it is read, for every command, in words
 * that never repeat it.
 */
const WITH_PASSWORD = 'http://user:s3cretpw@127.0.0.1:8080/';

describe('a --server (or PAIRGATE_SERVER) URL with credentials', () => {
  beforeAll(() => ensureBuilt(), 120_000);

  it('is refused before anything runs, invalid_request, exit 2, the password nowhere', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pairgate-server-credentials-'));
    const runs = await Promise.all([
      runCli(['doctor', '--json', '--quiet', '--server', WITH_PASSWORD]),
      runCli(['doctor', '--json', '--quiet'], { PAIRGATE_SERVER: WITH_PASSWORD }),
      runCli(['grant', 'show', 'ABCD', '--server', WITH_PASSWORD]),
      runCli(['grant', 'show', 'ABCD'], { PAIRGATE_SERVER: WITH_PASSWORD }),
      runCli(['session', 'list', '--server', WITH_PASSWORD]),
      runCli(['lan', 'offer', '--config-dir', dir, '--no-qr', '--no-discovery', '--address', '127.0.0.1', '--bind', '127.0.0.1', '--timeout', '5'], { PAIRGATE_SERVER: WITH_PASSWORD }),
      // Not an http URL either: refused without repeating it whole.
      runCli(['doctor', '--server', 'ftp://user:s3cretpw@127.0.0.1/']),
      runCli(['doctor', '--server', 'user:s3cretpw@127.0.0.1']),
    ]);
    for (const run of runs) {
      expect(run.status).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/\[invalid_request\]\n$/);
      expect(`${run.stdout}${run.stderr}`).not.toContain('s3cretpw');
    }
    expect(runs[0]!.stderr).toBe('pairgate: --server: the URL http://127.0.0.1:8080/ carries a user name or password (user:password@), which pairgate never sends there: give the URL without it (e.g. https://pair.example.com). [invalid_request]\n');
    expect(runs[1]!.stderr).toContain('pairgate: PAIRGATE_SERVER: the URL http://127.0.0.1:8080/ carries a user name or password');
  }, 60_000);

  it('given to the SDK\'s runDoctor: the DNS and server checks fail saying why, and the report never holds it', async () => {
    const report = await runDoctor({ server: WITH_PASSWORD, discovery: false, multicastWaitMs: 100 });
    const byName = Object.fromEntries(report.checks.map((check) => [check.name, check]));
    for (const name of ['dns', 'server']) {
      expect(byName[name]).toMatchObject({ status: 'fail', summary: expect.stringContaining('carries a user name or password') as unknown as string });
    }
    expect(JSON.stringify(report)).not.toContain('s3cretpw');
  }, 60_000);
});
