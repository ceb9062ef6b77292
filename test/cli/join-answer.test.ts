import { spawn, type ChildProcess } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { relayCodeFormat } from '../../src/doors/support/relay-code.js';
import { fetchPairingInfo } from '../../src/sdk/support.js';
import { CLI, ensureBuilt, runCli } from '../helpers/cli.js';
import { useSupportServers } from '../doors/support/helpers.js';

beforeAll(ensureBuilt, 120_000);

const AVATAR = 'https://img.example/t.png';
const QUESTION = /Do you really want to grant access to Thorsten of The great PC support\? \[y\/n\] $/;
const AGAIN = /Please type y \(yes\) to grant access, or n \(no\) to refuse: $/;

/** `pairgate join` with its input in our hands, and a way to wait for what it prints. */
function join(args: string[]) {
  const child: ChildProcess = spawn(process.execPath, [CLI, 'join', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk) => (out += String(chunk)));
  child.stderr!.on('data', (chunk) => (err += String(chunk)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // Standard output by default; the questions are on standard error (`() => err`).
  const waitFor = (pattern: RegExp, stream: () => string = () => out): Promise<void> => new Promise((resolve, reject) => {
    const started = Date.now();
    const check = (): void => {
      if (pattern.test(stream())) return resolve();
      if (Date.now() - started > 20_000 || child.exitCode !== null) return reject(new Error(`no ${pattern} in\n${out}\n${err}`));
      setTimeout(check, 20);
    };
    check();
  });
  return { child, exited, waitFor, out: () => out, err: () => err };
}

describe('pairgate join: the confirmation question', () => {
  const servers = useSupportServers();
  const newCode = async (id: string): Promise<string> =>
    (await servers.sdk.createSession({ id, supporterName: 'Thorsten', supporterAvatar: AVATAR })).PairingCode!;

  it('an empty answer (a stray Enter) or anything but y/n asks again, saying what to type; then n declines', async () => {
    const code = await newCode('join-enter');
    const agent = join([code, '--relay', servers.relay.url]);
    await agent.waitFor(QUESTION, agent.err);
    agent.child.stdin!.write('\n');
    await agent.waitFor(AGAIN, agent.err);
    expect((await servers.sdk.getSession('join-enter')).State).toBe('waiting');
    agent.child.stdin!.write('maybe\n');
    // Each question on a line of its own: a piped answer is not echoed, so join ends the line.
    await agent.waitFor(new RegExp(`${AGAIN.source.slice(0, -1)}\\nPlease type y`), agent.err);
    expect((await servers.sdk.getSession('join-enter')).State).toBe('waiting');
    agent.child.stdin!.write('No\n');
    expect(await agent.exited).toBe(0);
    expect(agent.out()).toContain('Declined. Nobody was given access.');
    expect((await servers.sdk.getSession('join-enter')).State).toBe('declined');
  }, 60_000);

  it('after an empty answer, yes confirms', async () => {
    const code = await newCode('join-enter-yes');
    const agent = join([code, '--relay', servers.relay.url]);
    await agent.waitFor(QUESTION, agent.err);
    agent.child.stdin!.write('\n');
    await agent.waitFor(AGAIN, agent.err);
    agent.child.stdin!.write('yes\n');
    await agent.waitFor(/Connected: the session with Thorsten of The great PC support is live\./);
    expect((await servers.sdk.getSession('join-enter-yes')).State).toBe('connected');
    agent.child.stdin!.write('/quit\n');
    expect(await agent.exited).toBe(0);
    // In the words of the person's page.
    expect(agent.out()).toContain('You ended the session.');
  }, 60_000);

  it('the input ending before an answer decides nothing: exit 2, and the code still works', async () => {
    const code = await newCode('join-eof');
    const agent = join([code, '--relay', servers.relay.url]);
    await agent.waitFor(QUESTION, agent.err);
    agent.child.stdin!.end();
    expect(await agent.exited).toBe(2);
    expect(agent.err()).toMatch(/^Do you really want to grant access to Thorsten of The great PC support\? \[y\/n\] \npairgate: No answer \(the input ended\): nothing was confirmed or declined, so the code still works until it expires \(a few minutes after your supporter gave it\): run pairgate join again to answer\. \[no_answer\]\n$/);
    expect(agent.out()).not.toContain('Declined');
    expect((await servers.sdk.getSession('join-eof')).State).toBe('waiting');
    // Not spent: the pairing info is still there for whoever holds the code.
    const info = await fetchPairingInfo(`${servers.origin.url}/pairing/${code}`);
    expect(info.SupporterName).toBe('Thorsten');
  }, 60_000);
});

describe('pairgate join with a malformed code on the command line', () => {
  it('prints one clear error (the precise one), exit 2, before any request', async () => {
    const result = await runCli(['join', 'zz zz', '--relay', 'http://127.0.0.1:9']);
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split('\n'), result.stderr).toHaveLength(1);
    expect(result.stderr).toMatch(/^pairgate: A code has 6 characters; this one has /);
    expect(result.stderr).not.toContain('not a valid code');
  });

  it('says each refusal with the machine code the server gives it, as every other error', async () => {
    const [short, foreign] = await Promise.all([['12'], ['ab!def']].map((code) => runCli(['join', ...code, '--relay', 'http://127.0.0.1:9'])));
    expect(short).toMatchObject({ status: 2, stderr: 'pairgate: A code has 6 characters; this one has 2. Check that you typed all of it. [code_wrong_length]\n' });
    expect(foreign!.status).toBe(2);
    expect(foreign!.stderr).toMatch(/^pairgate: "!" \(character 3\) cannot appear in a code: .+\. \[code_bad_character\]\n$/);
  });
});

describe('pairgate join out of tries', () => {
  const servers = useSupportServers();

  it('says the server\'s words once: what was too many and how long to wait, then its code, exit 2', async () => {
    // Unknown codes until the address's misses are spent (5 within five minutes).
    let last = await runCli(['join', relayCodeFormat.generate(), '--relay', servers.relay.url]);
    for (let tries = 0; tries < 10 && !last.stderr.includes('Try again'); tries++) last = await runCli(['join', relayCodeFormat.generate(), '--relay', servers.relay.url]);
    expect(last.status).toBe(2);
    expect(last.stderr).toMatch(/^pairgate: Too many wrong codes from your address\. Try again in \d+ s\. \[rate_limited\]\n$/);
  }, 120_000);
});
