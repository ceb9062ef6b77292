import { spawn, type ChildProcess } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, ensureBuilt } from '../helpers/cli.js';
import { useSupportServers } from '../doors/support/helpers.js';

beforeAll(ensureBuilt, 120_000);

const AVATAR = 'https://img.example/t.png';
// A zone without daylight saving and half an hour off UTC (its times cannot pass for UTC ones), and
// a locale whose toLocaleTimeString is a 12-hour clock ("07:15 PM"): join must print neither.
const KOLKATA_US = { TZ: 'Asia/Kolkata', LC_ALL: 'en_US.UTF-8', LANG: 'en_US.UTF-8' };

/** The time of day of `iso` in Asia/Kolkata (UTC+05:30) on a 24-hour clock, its date first when not today there. */
function kolkataTime(iso: string): string {
  const shifted = new Date(new Date(iso).getTime() + 330 * 60_000).toISOString();
  const today = new Date(Date.now() + 330 * 60_000).toISOString().slice(0, 10);
  return `${shifted.slice(0, 10) === today ? '' : `${shifted.slice(0, 10)} `}${shifted.slice(11, 19)}`;
}

/** `pairgate join` with its input in our hands, in `env`, and a way to wait for what it prints. */
function join(args: string[], env: Record<string, string>) {
  const child: ChildProcess = spawn(process.execPath, [CLI, 'join', ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk) => (out += String(chunk)));
  child.stderr!.on('data', (chunk) => (err += String(chunk)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // Standard output by default; the question is on standard error (`() => err`).
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

describe('pairgate join prints times as the session commands do', () => {
  const servers = useSupportServers();

  it('the supporter leaving: the session\'s end in the terminal\'s zone on a 24-hour clock, with how far off it is, whatever the locale', async () => {
    const created = await servers.sdk.createSession({ id: 'join-times', ttl: 3600, supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const agent = join([created.PairingCode!, '--relay', servers.relay.url], KOLKATA_US);
    await agent.waitFor(/\[y\/n\] $/, agent.err);
    agent.child.stdin!.write('y\n');
    await agent.waitFor(/Connected: the session with Thorsten/);
    const supporter = await servers.sdk.attach('join-times');
    supporter.close();
    await agent.waitFor(/Your supporter has left the session for now\..*\n/);
    const line = agent.out().split('\n').find((one) => one.startsWith('Your supporter has left'))!;
    expect(line).toContain(`They may come back until it expires at ${kolkataTime(created.ExpiresAt)} (in 60 min); stay here`);
    expect(line).not.toMatch(/ [AP]M\b/);
    agent.child.stdin!.write('/quit\n');
    expect(await agent.exited).toBe(0);
  }, 60_000);
});
