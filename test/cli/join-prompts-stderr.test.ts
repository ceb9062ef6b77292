import { spawn } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, ensureBuilt } from '../helpers/cli.js';
import { useSupportServers } from '../doors/support/helpers.js';

beforeAll(ensureBuilt, 120_000);

const AVATAR = 'https://img.example/t.png';

/** `pairgate join <args>` with `input` piped in (then its end): not a terminal, as in a script. */
function joinPiped(args: string[], input: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'join', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += String(chunk)));
    child.stderr.on('data', (chunk) => (stderr += String(chunk)));
    child.on('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(input);
  });
}

describe('pairgate join with its input piped: the questions on standard error, standard output for what it says', () => {
  const servers = useSupportServers();

  it('the code and the answer piped in: stdout holds no question, stderr holds each on a line of its own', async () => {
    const { PairingCode } = await servers.sdk.createSession({ id: 'join-piped', supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const run = await joinPiped(['--relay', servers.relay.url], `${PairingCode!}\nn\n`);
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(`Supporter: Thorsten\nCompany:   The great PC support\nServer:    ${new URL(servers.origin.url).host}\nDeclined. Nobody was given access.\n`);
    expect(run.stderr).toBe('Pairing code (6 characters): \nDo you really want to grant access to Thorsten of The great PC support? [y/n] \n');
    expect((await servers.sdk.getSession('join-piped')).State).toBe('declined');
  }, 60_000);

  it('a code refused, then the input ended: the question and the errors on stderr, each on its own line; nothing on stdout', async () => {
    // Port 9 (discard): no request is made before a code is valid.
    const run = await joinPiped(['--relay', 'http://127.0.0.1:9/relay'], 'abc\n');
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    const lines = run.stderr.split('\n');
    expect(lines[0]).toBe('Pairing code (6 characters): ');
    expect(lines[1]).toMatch(/^pairgate: /);
    expect(lines.slice(2)).toEqual(['Pairing code (6 characters): ', 'pairgate: The input ended before a valid code was given. [code_missing]', '']);
  }, 30_000);
});
