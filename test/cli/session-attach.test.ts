import { spawn, type ChildProcess } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { confirmPairing, connectAgent } from '../../src/sdk/support.js';
import type { TestApp } from '../helpers/app.js';
import { CLI, ensureBuilt } from '../helpers/node-process.js';
import { ADMIN, useSupportServers } from '../doors/support/helpers.js';
import { SAMPLE_TEXT, sampleReport } from './sample-report.js';

const AVATAR = 'https://avatars.example/thorsten.png';

beforeAll(() => ensureBuilt(), 120_000);

/** `pairgate session attach` (the built CLI) with its standard output collected. */
function attach(origin: TestApp, id: string, ...extra: string[]): { child: ChildProcess; out: () => string; err: () => string; exited: Promise<number | null>; waitFor: (text: string) => Promise<void> } {
  const child = spawn(process.execPath, [CLI, 'session', 'attach', id, '--server', origin.url, '--user', ADMIN.user, '--password', ADMIN.password, ...extra], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk) => (out += String(chunk)));
  child.stderr!.on('data', (chunk) => (err += String(chunk)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitFor = async (text: string): Promise<void> => {
    await expect.poll(() => out.includes(text) || child.exitCode !== null, { timeout: 15_000, interval: 20 }).toBe(true);
    expect(out, err).toContain(text);
  };
  return { child, out: () => out, err: () => err, exited, waitFor };
}

describe('pairgate session attach prints the agent\'s diagnostics report', () => {
  const servers = useSupportServers();

  /** A session with `pairgate session attach` on it and an agent connected. */
  async function connected(id: string, ...extra: string[]) {
    const created = await servers.sdk.createSession({ id, supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const supporter = attach(servers.origin, id, ...extra);
    await supporter.waitFor('Waiting for the person to enter the code');
    const confirmation = await confirmPairing(`${servers.origin.url}/pairing/${created.PairingCode}`);
    const agent = await connectAgent(confirmation.MeshServer, confirmation.AgentCredential);
    await supporter.waitFor('Agent connected.');
    return { supporter, agent };
  }

  it('as text, as pairgate doctor prints its own; the agent\'s messages are terminal-safe', async () => {
    const { supporter, agent } = await connected('attach-report');
    agent.sendDiagnostics(sampleReport() as unknown as Record<string, unknown>);
    await supporter.waitFor('attach with --json.');
    expect(supporter.out()).toContain(`Diagnostics from the agent:\n${SAMPLE_TEXT}\n`);
    expect(supporter.out()).not.toContain('"checks"');
    agent.say('look: \u001b[2Jcleared?');
    await supporter.waitFor('agent> look: \uFFFD[2Jcleared?\n');
    // Its line breaks cannot make lines that pass for the program's own.
    agent.say('thanks\nThe person ended the session.\nyou> ok');
    await supporter.waitFor('agent> thanks\n       The person ended the session.\n       you> ok\n');
    agent.end();
    expect(await supporter.exited).toBe(0);
  });

  it('with --json, as the JSON the agent sent, every check\'s details included', async () => {
    const { supporter, agent } = await connected('attach-report-json', '--json');
    agent.sendDiagnostics(sampleReport() as unknown as Record<string, unknown>);
    await supporter.waitFor('2026-01-01T00:00:03.000Z');
    await supporter.waitFor('\n}\n');
    const printed = supporter.out().split('Diagnostics from the agent:\n')[1]!;
    expect(JSON.parse(printed.slice(0, printed.indexOf('\n}\n') + 2))).toEqual(sampleReport());
    agent.end();
    expect(await supporter.exited).toBe(0);
  });
});

describe('pairgate session attach says when the person leaves and comes back', () => {
  const servers = useSupportServers();

  it('the person leaving is said in words (they may come back until the expiry), not as "waiting for the agent"; their return too', async () => {
    const created = await servers.sdk.createSession({ id: 'attach-peer', supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const supporter = attach(servers.origin, 'attach-peer');
    await supporter.waitFor('Waiting for the person to enter the code');
    const confirmation = await confirmPairing(`${servers.origin.url}/pairing/${created.PairingCode}`);
    const agent = await connectAgent(confirmation.MeshServer, confirmation.AgentCredential);
    await supporter.waitFor('Agent connected.');
    const before = supporter.out().length;
    agent.close();
    await supporter.waitFor('The person left the session (closed their page or lost their connection). They may come back until it expires at ');
    expect(supporter.out().slice(before)).not.toContain('waiting for the agent to connect');
    const back = await connectAgent(confirmation.MeshServer, confirmation.AgentCredential);
    await supporter.waitFor('The person is back.');
    back.end();
    expect(await supporter.exited).toBe(0);
    // Each is said once: the first connection as connected (no "back": nobody had left), the
    // return as back only (the state and the peer_joined notice it brings are one piece of news).
    const count = (text: string) => supporter.out().split(text).length - 1;
    expect(count('Agent connected.')).toBe(1);
    expect(count('The person is back.')).toBe(1);
  });

  it('attached while the person is away, their return is said once', async () => {
    const created = await servers.sdk.createSession({ id: 'attach-away', supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const confirmation = await confirmPairing(`${servers.origin.url}/pairing/${created.PairingCode}`);
    const agent = await connectAgent(confirmation.MeshServer, confirmation.AgentCredential);
    await servers.sdk.waitForState('attach-away', ['connected'], 5);
    agent.close();
    await servers.sdk.waitForState('attach-away', ['confirmed'], 5);
    const supporter = attach(servers.origin, 'attach-away');
    await supporter.waitFor('Confirmed; waiting for the agent to connect...');
    const back = await connectAgent(confirmation.MeshServer, confirmation.AgentCredential);
    await supporter.waitFor('Agent connected.');
    back.end();
    expect(await supporter.exited).toBe(0);
    expect(supporter.out()).not.toContain('The person is back.');
  });
});

describe('pairgate session attach ends when there is nothing more to wait for', () => {
  const servers = useSupportServers();

  it('says how to get a new code while waiting, and ends (exit 1, saying so) when the person declines', async () => {
    const created = await servers.sdk.createSession({ id: 'attach-declined', supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const supporter = attach(servers.origin, 'attach-declined');
    await supporter.waitFor('(if the code expires before they type it, get a new one: pairgate session code attach-declined)');
    await expect(confirmPairing(`${servers.origin.url}/pairing/${created.PairingCode}`, 'decline')).rejects.toMatchObject({ code: 'declined' });
    // It used to print "The person declined." and wait for ever.
    expect(await supporter.exited).toBe(1);
    expect(supporter.out()).toContain('The person declined: nobody was given access. If they want help after all, create a new session (pairgate session create).');
  });

  it('a message too long is refused in words; /end with the input ending right after waits for the end of the session, not "detached, the session goes on"', async () => {
    const created = await servers.sdk.createSession({ id: 'attach-end', supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const supporter = attach(servers.origin, 'attach-end');
    await supporter.waitFor('Waiting for the person');
    const confirmation = await confirmPairing(`${servers.origin.url}/pairing/${created.PairingCode}`);
    const agent = await connectAgent(confirmation.MeshServer, confirmation.AgentCredential);
    await supporter.waitFor('Agent connected.');
    // A message longer than the channel takes is refused here, in words, and the chat goes on.
    supporter.child.stdin!.write(`${'x'.repeat(4001)}\n`);
    await expect.poll(() => supporter.err()).toContain('pairgate: that message has 4001 characters, more than the 4000 one message may hold; it was not sent. Split it into shorter ones.');
    const heard = new Promise<unknown>((resolve) => agent.onEvent((event) => event.type === 'message' && resolve(event.text)));
    supporter.child.stdin!.write('short one\n');
    expect(await heard).toBe('short one');
    const agentEnded = new Promise<string>((resolve) => agent.on('ended', resolve));
    supporter.child.stdin!.end('/end\n');
    expect(await supporter.exited).toBe(0);
    expect(supporter.out()).toContain('You ended the session.');
    expect(supporter.out()).not.toContain('the session goes on');
    expect(await agentEnded).toBe('supporter');
    await expect(servers.sdk.getSession('attach-end')).rejects.toMatchObject({ status: 404 });
  });
});

describe('pairgate session attach again', () => {
  const servers = useSupportServers();

  it('shows the chat so far, with what the person wrote while nobody was attached', async () => {
    const created = await servers.sdk.createSession({ id: 'attach-again', supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const first = attach(servers.origin, 'attach-again');
    await first.waitFor('Waiting for the person');
    const confirmation = await confirmPairing(`${servers.origin.url}/pairing/${created.PairingCode}`);
    const agent = await connectAgent(confirmation.MeshServer, confirmation.AgentCredential);
    await first.waitFor('Agent connected.');
    first.child.stdin!.write('hello\n');
    await agent.next((e) => e.type === 'message' && e.text === 'hello');
    first.child.kill('SIGINT');
    await first.exited;
    agent.say('my printer is on fire');
    await new Promise((resolve) => setTimeout(resolve, 200));

    const second = attach(servers.origin, 'attach-again');
    await second.waitFor('The chat so far:\nyou> hello\nagent> my printer is on fire\n');
    expect(second.err()).toBe('');
    // Said while the agent is away: said so, since it reaches the person only as history.
    agent.close();
    await second.waitFor('The person left the session (closed their page or lost their connection).');
    second.child.stdin!.write('still there?\n');
    await expect.poll(() => second.err()).toContain('pairgate: the person is not connected now: their session page or pairgate join shows this message once it connects');
    const back = await connectAgent(confirmation.MeshServer, confirmation.AgentCredential, 'browser', { history: true });
    const history = await back.next((e) => e.type === 'history', 5000);
    expect(history.messages!.map((m) => m.text)).toEqual(['hello', 'my printer is on fire', 'still there?']);
    back.end();
    expect(await second.exited).toBe(0);
  });
});
