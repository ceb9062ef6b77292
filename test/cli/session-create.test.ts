import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useListeningApp } from '../helpers/app.js';
import { ensureBuilt, runCli } from '../helpers/cli.js';
import { useSupportServers } from '../doors/support/helpers.js';

beforeAll(ensureBuilt, 120_000);

const SUPPORTER = { PLEXUS_AUTH_USER: 'support', PLEXUS_AUTH_PASS: '1234' };
const credentials = ['--user', SUPPORTER.PLEXUS_AUTH_USER, '--password', SUPPORTER.PLEXUS_AUTH_PASS];

/** Exit code 2 and one line on stderr matching `message`, no stack trace. */
function expectRefused(result: Awaited<ReturnType<typeof runCli>>, message: RegExp): void {
  expect(result.status, result.stderr).toBe(2);
  expect(result.stderr).toMatch(message);
  expect(result.stderr.trim().split('\n'), result.stderr).toHaveLength(1);
  expect(result.stdout).toBe('');
}

describe('pairgate session create names its flags when the supporter is missing', () => {
  // Pairing on: the relay is never reached, the origin refuses before publishing.
  const server = useListeningApp({ ...SUPPORTER, PLEXUS_PAIRING_URL: 'http://127.0.0.1:9/relay/pairing/' });

  it('without --supporter-name and --supporter-avatar, on a server that hands out codes: the flags to pass, not the form fields', async () => {
    const result = await runCli(['session', 'create', '--server', server.base, ...credentials]);
    expectRefused(result, /^pairgate: this server hands out pairing codes: give --supporter-name <your name> and --supporter-avatar <https URL of your picture>, which the person sees before confirming\. \[supporter_required\]$/m);
    expect(result.stderr).not.toMatch(/supporter_name|supporter_avatar /);
  });

  it('one without the other is refused before any request (nothing listens on the server given)', async () => {
    for (const half of [['--supporter-name', 'Thorsten'], ['--supporter-avatar', 'https://example.com/me.png']]) {
      const result = await runCli(['session', 'create', ...half, '--server', 'http://127.0.0.1:9', ...credentials]);
      expectRefused(result, /^pairgate: --supporter-name and --supporter-avatar go together: give --supporter-name <your name> and --supporter-avatar <https URL of your picture>/m);
    }
  });

  it('an avatar that is not an https URL is named by its flag', async () => {
    const result = await runCli(['session', 'create', '--supporter-name', 'Thorsten', '--supporter-avatar', 'me.png', '--server', server.base, ...credentials]);
    expectRefused(result, /^pairgate: --supporter-avatar must be an absolute https URL/m);
  });
});

describe('pairgate session create on a server without pairing codes', () => {
  const server = useListeningApp(SUPPORTER);

  it('needs neither flag', async () => {
    const result = await runCli(['session', 'create', '--id', 'no-pairing', '--server', server.base, ...credentials]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^Session no-pairing created/);
    expect(result.stdout).toMatch(/No pairing relay is configured/);
  });
});

describe('pairgate session with --password-file', () => {
  const server = useListeningApp(SUPPORTER);

  it('reads the supporter password from the file\'s first line (a trailing newline or CRLF is not part of it); refuses an empty file, a missing one, and both --password and --password-file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pairgate-password-file-'));
    const file = (name: string, text: string) => {
      writeFileSync(join(dir, name), text, { mode: 0o600 });
      return join(dir, name);
    };
    for (const text of ['1234\n', '1234\r\n', '1234']) {
      const listed = await runCli(['session', 'list', '--server', server.base, '--user', 'support', '--password-file', file('right', text)], { PLEXUS_AUTH_PASS: '' });
      expect(listed.status, listed.stderr).toBe(0);
    }
    const wrong = await runCli(['session', 'list', '--server', server.base, '--user', 'support', '--password-file', file('wrong', 'nope\n')]);
    expectRefused(wrong, /refused these supporter credentials/);
    expectRefused(await runCli(['session', 'list', '--server', server.base, '--user', 'support', '--password-file', file('empty', '\n1234\n')]), /^pairgate: --password-file: .* holds no password on its first line\./m);
    expectRefused(await runCli(['session', 'list', '--server', server.base, '--user', 'support', '--password-file', join(dir, 'missing')]), /^pairgate: --password-file: cannot read .*missing \(ENOENT\)\./m);
    expectRefused(await runCli(['session', 'list', '--server', server.base, '--user', 'support', '--password', '1234', '--password-file', file('both', '1234')]), /^pairgate: Give --password or --password-file, not both\./m);
  });
});

describe('pairgate session commands on a server whose support origin is off', () => {
  const server = useListeningApp({});

  it('say that the origin is off and what turns it on, not that there is nothing at /session', async () => {
    for (const command of [['create'], ['list'], ['show', 'some-id']]) {
      const result = await runCli(['session', ...command, '--server', server.base, ...credentials]);
      expectRefused(result, /serves no support sessions: its support origin is off until PLEXUS_AUTH_USER and PLEXUS_AUTH_PASS are set there \(docs\/support\.md\)\. Check --server\. \[support_origin_off\]$/m);
    }
  });
});

describe('pairgate session commands with wrong supporter credentials', () => {
  const server = useListeningApp(SUPPORTER);

  it('name the flags to check (exit 2), not only the server\'s "sign in (HTTP Basic)"', async () => {
    for (const command of [['create'], ['list'], ['show', 'some-id'], ['attach', 'some-id'], ['delete', 'some-id']]) {
      const result = await runCli(['session', ...command, '--server', server.base, '--user', 'support', '--password', 'wrong']);
      expectRefused(result, /^pairgate: the server refused these supporter credentials: check --user and --password \(the server's PLEXUS_AUTH_USER and PLEXUS_AUTH_PASS, or the session's own login\)\. \[unauthorized\]$/m);
    }
  });
});

describe('pairgate session create names its flags when one is wrong', () => {
  const server = useListeningApp(SUPPORTER);

  it('--ttl, --id and --session-user/--session-password are refused in the words of the flags, exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [['--ttl', '5'], /^pairgate: --ttl must be 10 s or more; "5" is 5 s\. \[ttl_invalid\]$/m],
      [['--ttl', '999999'], /^pairgate: --ttl must be from 10 to 86400 seconds\. \[ttl_invalid\]$/m],
      [['--id', 'a/b'], /^pairgate: --id may hold letters, digits, "\.", "_" and "-", up to 64, and starts with a letter or digit\./m],
      [['--id', '-x'], /^pairgate: --id may hold letters/m],
      // A login without a password was created with an empty one: anyone knowing the name got in.
      [['--session-user', 'bob'], /^pairgate: --session-user and --session-password go together .*\[credentials_incomplete\]$/m],
      [['--session-password', 'secret'], /^pairgate: --session-user and --session-password go together/m],
      // Basic auth splits at the first colon: such a login was created and could never sign in.
      [['--session-user', 'bo:b', '--session-password', 'secret'], /^pairgate: --session-user may not contain ":": Basic auth splits .*\[credentials_incomplete\]$/m],
    ];
    for (const [flags, message] of cases) {
      const result = await runCli(['session', 'create', ...flags, '--server', server.base, ...credentials]);
      expectRefused(result, message);
      expect(result.stderr).not.toMatch(/body\./);
    }
    const list = await runCli(['session', 'list', '--server', server.base, ...credentials]);
    expect(list.stdout).toBe('No live sessions.\n');
  });
});

describe('pairgate session show, delete, code and attach with a malformed session id', () => {
  it('are refused before any request (nothing listens on the server given), saying what an id holds, not the server\'s route pattern', async () => {
    for (const command of ['show', 'delete', 'code', 'attach']) {
      const result = await runCli(['session', command, 'helping joe!', '--server', 'http://127.0.0.1:9', ...credentials]);
      expectRefused(result, /^pairgate: "helping joe!" is not a session id: an id holds letters, digits, "\.", "_" and "-", up to 64, and starts with a letter or digit\. See the ids of the live sessions with: pairgate session list \[session_id_invalid\]$/m);
      expect(result.stderr).not.toMatch(/params\.id|pattern/);
    }
  }, 120_000); // four CLI runs, on a machine that may be busy
});

describe('pairgate session code', () => {
  const servers = useSupportServers();

  it('says that it is a new code for the existing session, not that a session was created', async () => {
    await servers.sdk.createSession({ id: 'renewed', supporterName: 'Thorsten', supporterAvatar: 'https://img.example/t.png' });
    const result = await runCli(['session', 'code', 'renewed', '--server', servers.origin.url, ...credentials]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^New pairing code for session renewed \(its previous code no longer works\); the session expires at /);
    expect(result.stdout).not.toMatch(/created/);
    expect(result.stdout).toMatch(/pairgate join [1-9a-z]{6} --relay /);
    // --json: the server's answer on one line, as every command's --json; list and show too.
    const json = await runCli(['session', 'code', 'renewed', '--json', '--server', servers.origin.url, ...credentials]);
    expect(json.status, json.stderr).toBe(0);
    expect(json.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ID: 'renewed', PairingCode: expect.stringMatching(/^[1-9a-z]{6}$/) });
    for (const command of [['list'], ['show', 'renewed']]) {
      const listed = await runCli(['session', ...command, '--json', '--server', servers.origin.url, ...credentials]);
      expect(listed.stdout.trim().split('\n'), command.join(' ')).toHaveLength(1);
    }
    // delete --json: one line saying which session ended.
    const deleted = await runCli(['session', 'delete', 'renewed', '--json', '--server', servers.origin.url, ...credentials]);
    expect(deleted.status, deleted.stderr).toBe(0);
    expect(deleted.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(deleted.stdout)).toEqual({ id: 'renewed', ended: true });
  }, 60_000);
});

describe('an empty PAIRGATE_SERVER or PAIRGATE_RELAY_URL (`export X=`, `X=` in a compose file)', () => {
  it('counts as unset: the default server or relay, not the URL ""', async () => {
    const env = { PAIRGATE_SERVER: '', PAIRGATE_RELAY_URL: '' };
    for (const command of [['session', 'create'], ['session', 'attach'], ['session', 'list']]) {
      const help = await runCli([...command, '--help'], env);
      expect(help.stdout, command.join(' ')).toMatch(/\(PAIRGATE_SERVER, default:\s+http:\/\/127\.0\.0\.1:8080\)/);
    }
    const join = await runCli(['join', '--help'], env);
    expect(join.stdout).toMatch(/\(PAIRGATE_RELAY_URL, default:\s+http:\/\/127\.0\.0\.1:8080\/relay\)/);
    // Not refused as the URL "" before anything is tried (whatever the default server answers).
    const run = await runCli(['session', 'list', '--user', 'support', '--password', '1234'], env, 10_000);
    expect(run.stderr).not.toContain('"" is not an http:// or https:// URL');
  });
});
