import { spawn } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { confirmPairing, connectAgent } from '../../src/sdk/support.js';
import { CLI, ensureBuilt, runCli } from '../helpers/cli.js';
import { postJson, useSupportServers } from '../doors/support/helpers.js';

beforeAll(ensureBuilt, 120_000);

const credentials = ['--user', 'support', '--password', '1234'];
const AVATAR = 'https://img.example/t.png';
// A zone without daylight saving and half an hour off UTC: its times cannot pass for UTC ones.
const KOLKATA = { TZ: 'Asia/Kolkata' };

/**
 * The time of day of `iso` in Asia/Kolkata (UTC+05:30), as the CLI prints it there: with its date
 * first when that is not today there (an hour from now may be tomorrow).
 */
function kolkataTime(iso: string): string {
  const shifted = new Date(new Date(iso).getTime() + 330 * 60_000).toISOString();
  const today = new Date(Date.now() + 330 * 60_000).toISOString().slice(0, 10);
  return `${shifted.slice(0, 10) === today ? '' : `${shifted.slice(0, 10)} `}${shifted.slice(11, 19)}`;
}

const ISO = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/;

describe('pairgate session create, show and list print times for people', () => {
  const servers = useSupportServers();

  it('create: the local time of day and how far off it is, no UTC ISO text; --json unchanged', async () => {
    const args = ['session', 'create', '--ttl', '3600', '--supporter-name', 'Thorsten', '--supporter-avatar', AVATAR, '--server', servers.origin.url, ...credentials];
    const text = await runCli([...args, '--id', 'times-text'], KOLKATA);
    expect(text.status, text.stderr).toBe(0);
    const { ExpiresAt } = await servers.sdk.getSession('times-text');
    expect(text.stdout).toContain(`Session times-text created; it expires at ${kolkataTime(ExpiresAt)} (in 60 min).`);
    expect(text.stdout).not.toMatch(ISO);

    const json = await runCli([...args, '--id', 'times-json', '--json'], KOLKATA);
    expect(json.status, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout).ExpiresAt).toMatch(ISO);
  });

  it('show: the state in words, the session\'s end, and until when its pairing code works; then that it no longer does', async () => {
    const created = await servers.sdk.createSession({ id: 'times-show', ttl: 3600, supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const show = (...more: string[]) => runCli(['session', 'show', 'times-show', ...more, '--server', servers.origin.url, ...credentials], KOLKATA);

    const json = await show('--json');
    expect(json.status, json.stderr).toBe(0);
    const info = JSON.parse(json.stdout);
    expect(info).toMatchObject({ ID: 'times-show', State: 'waiting', ExpiresAt: created.ExpiresAt });
    expect(info.PairingCodeExpiresAt).toMatch(ISO);
    // The code lives PLEXUS_PAIRING_TTL (600 s), less than the session.
    expect(new Date(info.PairingCodeExpiresAt).getTime()).toBeLessThan(new Date(created.ExpiresAt).getTime());

    const live = await show();
    expect(live.status, live.stderr).toBe(0);
    expect(live.stdout).toBe([
      'times-show: waiting for the person to enter the code and confirm',
      `  session expires at ${kolkataTime(created.ExpiresAt)} (in 60 min)`,
      `  pairing code: live, works until ${kolkataTime(info.PairingCodeExpiresAt)} (in 10 min); after that, get a new one: pairgate session code times-show`,
      '',
    ].join('\n'));

    // Confirmed wrongly too often: the code is burned, the session still waits.
    for (let i = 0; i < 5; i++) await postJson(`${servers.origin.url}/pairing/${created.PairingCode}/confirm`, { Decision: 'maybe' });
    const burned = await show();
    expect(burned.stdout).toContain('  pairing code: no longer works (expired, declined or tried wrongly too often); get a new one: pairgate session code times-show\n');
    expect(JSON.parse((await show('--json')).stdout).PairingCodeExpiresAt).toBeNull();
  });

  it('list: id, state and the local expiry with how far off it is; --json is the server\'s answer', async () => {
    const created = await servers.sdk.createSession({ id: 'times-list', ttl: 3600, supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const list = await runCli(['session', 'list', '--server', servers.origin.url, ...credentials], KOLKATA);
    expect(list.status, list.stderr).toBe(0);
    expect(list.stdout).toContain(`times-list\twaiting\texpires ${kolkataTime(created.ExpiresAt)} (in 60 min)\n`);
    expect(list.stdout).not.toMatch(ISO);
    const json = await runCli(['session', 'list', '--json', '--server', servers.origin.url, ...credentials], KOLKATA);
    const listed = JSON.parse(json.stdout).Sessions.find((one: { ID: string }) => one.ID === 'times-list');
    expect(listed).toMatchObject({ State: 'waiting', ExpiresAt: created.ExpiresAt });
  });
});

describe('pairgate session attach prints the person-left time as the other session commands do', () => {
  const servers = useSupportServers();

  it('the session\'s end in the terminal\'s zone on a 24-hour clock with how far off it is, whatever the locale (not toLocaleTimeString\'s "07:15 PM")', async () => {
    const created = await servers.sdk.createSession({ id: 'times-attach', ttl: 3600, supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const child = spawn(process.execPath, [CLI, 'session', 'attach', 'times-attach', '--server', servers.origin.url, ...credentials], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...KOLKATA, LC_ALL: 'en_US.UTF-8', LANG: 'en_US.UTF-8' },
    });
    let out = '';
    child.stdout.on('data', (chunk) => (out += String(chunk)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const waitFor = (text: string) => expect.poll(() => out.includes(text) || child.exitCode !== null, { timeout: 15_000, interval: 20 }).toBe(true);
    await waitFor('Waiting for the person to enter the code');
    const confirmation = await confirmPairing(`${servers.origin.url}/pairing/${created.PairingCode}`);
    const agent = await connectAgent(confirmation.MeshServer, confirmation.AgentCredential);
    await waitFor('Agent connected.');
    agent.close();
    await waitFor('The person left the session');
    expect(out).toContain(`They may come back until it expires at ${kolkataTime(created.ExpiresAt)} (in 60 min); what you write reaches them then.`);
    child.kill('SIGINT');
    await exited;
  }, 60_000);
});
