import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { hostname, networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SupportOriginClient } from '../../../src/sdk/support.js';
import { ADMIN, freePort } from './helpers.js';

const cli = join(process.cwd(), 'dist/cli/main.js');
const AVATAR = 'https://avatars.example/thorsten.png';

beforeAll(() => {
  if (!existsSync(cli)) execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}, 120_000);

/** A child process with its output collected, and a way to wait for a line of it. */
interface Running {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<number | null>;
}

function run(args: string[], env: Record<string, string> = {}): Running {
  const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk) => (out += String(chunk)));
  child.stderr!.on('data', (chunk) => (err += String(chunk)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    out: () => out,
    err: () => err,
    exited,
    waitFor(pattern, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const started = Date.now();
        const check = (): void => {
          const match = pattern.exec(out) ?? pattern.exec(err);
          if (match) return resolve(match[0]);
          if (Date.now() - started > timeoutMs || child.exitCode !== null) return reject(new Error(`no ${pattern} in\n${out}\n${err}`));
          setTimeout(check, 20);
        };
        check();
      });
    },
  };
}

/** `pairgate serve` with the origin on and its own relay at /relay, on a port known in advance. */
async function serve(): Promise<{ url: string; proc: Running; stop: () => Promise<void> }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-support-e2e-'));
  const proc = run(['serve', '--port', String(port), '--data-dir', dataDir], {
    PLEXUS_AUTH_USER: ADMIN.user,
    PLEXUS_AUTH_PASS: ADMIN.password,
    PLEXUS_PAIRING_URL: `${url}/relay/pairing/`,
    PLEXUS_COMPANY_NAME: 'The great PC support',
    PAIRGATE_RELAY_ALLOW_HTTP: 'true',
    PAIRGATE_RELAY_CREATE_MAX: '100',
    PAIRGATE_LOG_LEVEL: 'warn',
  });
  // A loaded machine (CI running test files side by side) can take long to start a process.
  await proc.waitFor(/^pairgate listening on /m, 45_000);
  return {
    url,
    proc,
    async stop() {
      if (proc.child.exitCode === null) {
        proc.child.kill('SIGTERM');
        await proc.exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

describe('agent and supporter end to end (two processes)', () => {
  let server: Awaited<ReturnType<typeof serve>>;
  let sdk: SupportOriginClient;
  beforeAll(async () => {
    server = await serve();
    sdk = new SupportOriginClient({ baseUrl: server.url, ...ADMIN });
  });
  afterAll(() => server?.stop());

  it('session create prints the code big and clear with the pairing URL', async () => {
    const creator = run(['session', 'create', '--id', 'cli-made', '--ttl', '600', '--supporter-name', 'Thorsten', '--supporter-avatar', AVATAR, '--server', server.url, '--user', ADMIN.user, '--password', ADMIN.password]);
    expect(await creator.exited).toBe(0);
    const code = /pairgate join ([1-9a-np-z]{6}) --relay/.exec(creator.out())?.[1];
    expect(code, creator.out()).toBeDefined();
    expect(creator.out()).toContain(`│   ${[...code!].join('  ')}   │`);
    expect(creator.out()).toContain(`Pairing URL: ${server.url}/relay/pairing/${code}`);
    expect((await sdk.getSession('cli-made')).State).toBe('waiting');
    const bad = run(['session', 'create', '--id', 'cli-made', '--supporter-name', 'T', '--supporter-avatar', AVATAR, '--server', server.url, '--user', ADMIN.user, '--password', ADMIN.password]);
    expect(await bad.exited).toBe(2);
    expect(bad.err()).toMatch(/is in use\..*\[session_id_taken\]/);
  });

  it('the agent joins through the relay, confirms, chats, shares diagnostics, and ends when the supporter ends', async () => {
    const created = await sdk.createSession({ id: 'helping-joe', ttl: 600, supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const supporter = await sdk.attach('helping-joe');
    expect((await supporter.next((e) => e.type === 'state')).state).toBe('waiting');
    const agent = run(['join', created.PairingCode!.toUpperCase(), '--relay', `${server.url}/relay`]);
    await agent.waitFor(/Do you really want to grant access to Thorsten of The great PC support\? \[y\/n\] /);
    expect(agent.out()).toContain('Supporter: Thorsten');
    agent.child.stdin!.write('y\n');
    await agent.waitFor(/Connected: the session with Thorsten of The great PC support is live\./);
    await supporter.next((e) => e.type === 'state' && e.state === 'connected');
    expect((await sdk.getSession('helping-joe')).State).toBe('connected');

    supporter.say('Hello Joe, I am Thorsten.');
    await agent.waitFor(/^Thorsten: Hello Joe, I am Thorsten\.$/m);
    // What the supporter sends cannot drive the person's terminal: escapes print as U+FFFD.
    supporter.say('\u001b]0;owned\u0007\u001b[2Jclear?');
    await agent.waitFor(/^Thorsten: \uFFFD\]0;owned\uFFFD\uFFFD\[2Jclear\?$/m);
    expect(agent.out()).not.toContain('\u001b');
    const fromAgent = supporter.next((e) => e.type === 'message');
    agent.child.stdin!.write('Hi, my printer is broken\n');
    expect(await fromAgent).toMatchObject({ from: 'agent', text: 'Hi, my printer is broken' });
    // /diag shares the doctor's report, which also checks the supporter's server.
    const report = supporter.next((e) => e.type === 'diagnostics', 45_000);
    agent.child.stdin!.write('/diag\n');
    await agent.waitFor(/Running the network diagnostics/);
    const shared = (await report).report as { version: number; host: { hostname: string }; checks: { name: string; status: string; summary: string }[] };
    expect(shared).toMatchObject({ version: 1, host: { hostname: hostname() }, counts: expect.any(Object) });
    expect(shared.checks.map((check) => check.name)).toEqual(['interfaces', 'own-addresses', 'listener', 'self-reach', 'multicast', 'dns', 'server']);
    expect(shared.checks.find((check) => check.name === 'server')).toMatchObject({ status: 'ok', summary: `${server.url}/healthz answered 200` });
    // No hardware identifiers: none of this machine's MAC addresses.
    const json = JSON.stringify(shared);
    const macs = Object.values(networkInterfaces()).flatMap((entries) => (entries ?? []).map((entry) => entry.mac)).filter((mac) => mac !== '00:00:00:00:00:00');
    for (const mac of macs) expect(json.toLowerCase()).not.toContain(mac.toLowerCase());
    expect(json).not.toMatch(/"mac"/);
    await agent.waitFor(/Network diagnostics sent to your supporter \(\d+ ok, \d+ warnings, \d+ failed\)\./);

    supporter.end();
    await agent.waitFor(/The supporter ended the session\./);
    expect(await agent.exited).toBe(0);
    await expect(sdk.getSession('helping-joe')).rejects.toMatchObject({ status: 404 });
  }, 90_000);

  it('clear messages: mistyped code (no request), unknown code, declined', async () => {
    const typo = run(['join', 'ab0', '--relay', `${server.url}/relay`]);
    expect(await typo.exited).toBe(2);
    expect(typo.err()).toMatch(/"0" \(character 3\) cannot appear in a code/);
    // An unknown code is refused input (exit 2, as `grant approve` with one), not a failure to connect (1).
    const unknown = run(['join', 'zzzzzz', '--relay', `${server.url}/relay`]);
    expect(await unknown.exited).toBe(2);
    expect(unknown.err()).toMatch(/No session has this code, or it has expired/);
    // Typed at the prompt: a typo first, then the right code, then "no".
    const created = await sdk.createSession({ id: 'decline-cli', supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const agent = run(['join', '--relay', `${server.url}/relay`]);
    await agent.waitFor(/Pairing code \(6 characters\): /);
    agent.child.stdin!.write('12\n');
    await agent.waitFor(/A code has 6 characters; this one has 2\./);
    agent.child.stdin!.write(`${created.PairingCode}\n`);
    await agent.waitFor(/\[y\/n\] /);
    agent.child.stdin!.write('n\n');
    expect(await agent.exited).toBe(0);
    expect(agent.out()).toContain('Declined. Nobody was given access.');
    expect((await sdk.getSession('decline-cli')).State).toBe('declined');
  });

  it('Ctrl-C in the agent ends the session cleanly for both sides', async () => {
    const created = await sdk.createSession({ id: 'ctrl-c', supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const supporter = await sdk.attach('ctrl-c');
    const agent = run(['join', created.PairingCode!, '--relay', `${server.url}/relay`, '--yes']);
    await agent.waitFor(/is live\./);
    await supporter.next((e) => e.type === 'state' && e.state === 'connected');
    const ended = supporter.next((e) => e.type === 'ended');
    agent.child.kill('SIGINT');
    expect((await ended).reason).toBe('agent');
    expect(await agent.exited).toBe(0);
    // In the words of the person's page.
    expect(agent.out()).toMatch(/You ended the session\./);
    await expect(sdk.getSession('ctrl-c')).rejects.toMatchObject({ status: 404 });
  });

  it('join shows what the supporter wrote before the person joined, and says in words when the supporter leaves and comes back', async () => {
    const created = await sdk.createSession({ id: 'join-presence', supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const supporter = await sdk.attach('join-presence');
    await supporter.next((e) => e.type === 'state' && e.state === 'waiting');
    supporter.say('I will be with you in a minute.');
    const agent = run(['join', created.PairingCode!, '--relay', `${server.url}/relay`, '--yes']);
    await agent.waitFor(/is live\./);
    await agent.waitFor(/^Said before you joined:\nThorsten: I will be with you in a minute\.$/m);
    await supporter.next((e) => e.type === 'state' && e.state === 'connected');
    expect(agent.out()).not.toContain('not attached right now');

    supporter.close();
    await agent.waitFor(/^Your supporter has left the session for now\. They may come back until it expires at \S.*; stay here to wait for them/m);
    const again = await sdk.attach('join-presence');
    await agent.waitFor(/^Your supporter is back\.$/m);
    const ended = again.next((e) => e.type === 'ended');
    agent.child.kill('SIGINT');
    await ended;
    expect(await agent.exited).toBe(0);
  });

  it('join says when no supporter is attached as the person joins, and that the first one to attach joined, not that it is back', async () => {
    const created = await sdk.createSession({ id: 'join-alone', supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const agent = run(['join', created.PairingCode!, '--relay', `${server.url}/relay`, '--yes']);
    await agent.waitFor(/^Your supporter is not attached right now; what you write reaches them when they attach\.$/m);
    const supporter = await sdk.attach('join-alone');
    // The person never had a supporter with them: the first one attaching joins, it is not back.
    await agent.waitFor(/^Your supporter has joined the session\.$/m);
    expect(agent.out()).not.toContain('is back');
    supporter.end();
    expect(await agent.exited).toBe(0);
  });

  it('session attach (a process) sees the agent connect and chats', async () => {
    const created = await sdk.createSession({ id: 'attach-cli', supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const attach = run(['session', 'attach', 'attach-cli', '--server', server.url, '--user', ADMIN.user, '--password', ADMIN.password]);
    await attach.waitFor(/Waiting for the person to enter the code/);
    const agent = run(['join', created.PairingCode!, '--relay', `${server.url}/relay`, '--yes']);
    await attach.waitFor(/Agent connected\./);
    agent.child.stdin!.write('ping from agent\n');
    await attach.waitFor(/^agent> ping from agent$/m);
    attach.child.stdin!.write('pong from supporter\n');
    await agent.waitFor(/^Thorsten: pong from supporter$/m);
    attach.child.stdin!.write('/end\n');
    expect(await attach.exited).toBe(0);
    expect(await agent.exited).toBe(0);
  });
});

describe('agent losing its server', () => {
  it('says the connection was lost and exits 1', async () => {
    const server = await serve();
    try {
      const sdk = new SupportOriginClient({ baseUrl: server.url, ...ADMIN });
      const created = await sdk.createSession({ id: 'lost', supporterName: 'Thorsten', supporterAvatar: AVATAR });
      const agent = run(['join', created.PairingCode!, '--relay', `${server.url}/relay`, '--yes']);
      await agent.waitFor(/is live\./);
      server.proc.child.kill('SIGKILL');
      await agent.waitFor(/connection to the supporter's server was lost/);
      expect(await agent.exited).toBe(1);
    } finally {
      await server.stop();
    }
  });
});

describe('pairgate serve --relay-only', () => {
  it('serves the relay alone at / (plus health), nothing else; a dotenv config file works too', async () => {
    const { writeFileSync } = await import('node:fs');
    const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-relay-only-'));
    const relay = run(['serve', '--relay-only', '--port', '0', '--data-dir', dataDir]);
    try {
      const url = (await relay.waitFor(/http:\/\/127\.0\.0\.1:\d+/));
      const published = await fetch(`${url}/pairing/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: 'https://origin.example/pairing' }) });
      expect(published.status).toBe(200);
      const { code } = (await published.json()) as { code: string };
      const redirect = await fetch(`${url}/pairing/${code}`, { redirect: 'manual' });
      expect(redirect.headers.get('location')).toBe(`https://origin.example/pairing/${code}`);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect((await fetch(`${url}/`)).status).toBe(200);
      expect((await fetch(`${url}/session`)).status).toBe(404);
      expect((await fetch(`${url}/api/v1/grants`, { method: 'POST' })).status).toBe(404);
      expect((await fetch(`${url}/relay/`)).status).toBe(404);
    } finally {
      relay.child.kill('SIGTERM');
      await relay.exited;
    }
    // The seed's plexus.config, as a dotenv file: an origin with pairing on.
    writeFileSync(join(dataDir, 'plexus.config'), [
      '# Publish all sessions on a pairing service',
      'PLEXUS_PAIRING_URL=https://pc-assist.app/pairing/',
      'PLEXUS_PAIRING_TTL=600',
      'PLEXUS_COMPANY_NAME="The great PC support"',
      'PLEXUS_AUTH_USER=support',
      'PLEXUS_AUTH_PASS=1234',
    ].join('\n'));
    const origin = run(['serve', '--config', join(dataDir, 'plexus.config'), '--port', '0', '--data-dir', dataDir]);
    try {
      const url = await origin.waitFor(/http:\/\/127\.0\.0\.1:\d+/);
      const missing = await fetch(`${url}/session`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from('support:1234').toString('base64')}`, 'content-type': 'application/json' }, body: '{"id":"x"}' });
      expect(await missing.json()).toMatchObject({ Code: 'supporter_required' }); // pairing is on: the file was read
    } finally {
      origin.child.kill('SIGTERM');
      await origin.exited;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
