import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ensureBuilt } from '../helpers/node-process.js';

const cli = CLI;
const children: ChildProcess[] = [];

/** Starts the CLI and resolves its first stdout line as JSON, keeping all output. */
function startJson(args: string[]): { child: ChildProcess; first: Promise<Record<string, unknown>>; stdout: string[]; stderr: string[]; exit: Promise<number | null> } {
  const child = spawn('node', [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const stdout: string[] = [];
  const stderr: string[] = [];
  child.stderr!.on('data', (d: Buffer) => stderr.push(String(d)));
  const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const lines = createInterface({ input: child.stdout! });
  const first = new Promise<Record<string, unknown>>((resolve, reject) => {
    lines.on('line', (line) => {
      stdout.push(line);
      if (stdout.length === 1) resolve(JSON.parse(line) as Record<string, unknown>);
    });
    void exit.then(() => reject(new Error(`exited before output: ${stderr.join('')}`)));
  });
  return { child, first, stdout, stderr, exit };
}

async function run(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn('node', [cli, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += String(d); });
  child.stderr.on('data', (d: Buffer) => { stderr += String(d); });
  child.stdin.end(input ?? '');
  const code = await new Promise<number>((resolve) => child.once('exit', (c) => resolve(c ?? -1)));
  return { code, stdout, stderr };
}

describe('pairgate lan / peers (two processes of the real CLI on loopback)', () => {
  let root: string;
  beforeAll(() => {
    ensureBuilt();
    root = mkdtempSync(join(tmpdir(), 'pairgate-lan-cli-'));
  }, 120_000);
  afterAll(() => {
    for (const child of children) if (child.exitCode === null) child.kill();
  });

  it('offer and join pair across processes, move a file, store peers, and keep the secret out of logs', async () => {
    const offerDir = join(root, 'laptop');
    const joinDir = join(root, 'phone');
    const payload = join(root, 'wifi.conf');
    writeFileSync(payload, 'ssid=home\npsk=not-the-pairing-secret\n'.repeat(2000));
    const offer = startJson(['lan', 'offer', '--config-dir', offerDir, '--name', 'laptop', '--address', '127.0.0.1', '--bind', '127.0.0.1', '--no-discovery', '--json', '--payload', payload, '--timeout', '20', '--qr-png', join(root, 'qr.png'), '--qr-svg', join(root, 'qr.svg')]);
    const shown = await offer.first;
    const connection = String(shown.connectionString);
    expect(connection).toMatch(/^pg1:/);
    expect(shown).not.toHaveProperty('secret');
    const secret = connection.split(':')[4]!;
    expect(readFileSync(join(root, 'qr.png')).subarray(1, 4).toString()).toBe('PNG');
    expect(readFileSync(join(root, 'qr.svg'), 'utf8')).toContain('<svg');
    // The string goes through stdin so it never shows in the process list.
    const joined = await run(['lan', 'join', '-', '--config-dir', joinDir, '--name', 'phone', '--out', root, '--no-discovery', '--json'], connection);
    expect(joined.stderr).toMatch(/Authenticated channel to "laptop"/);
    expect(joined.code).toBe(0);
    const result = JSON.parse(joined.stdout) as { peer: { name: string }; received: { path: string; size: number } };
    expect(result.peer.name).toBe('laptop');
    expect(readFileSync(result.received.path, 'utf8')).toBe(readFileSync(payload, 'utf8'));
    expect(await offer.exit).toBe(0);
    expect(JSON.parse(offer.stdout[1]!)).toMatchObject({ event: 'paired', peer: { name: 'phone' } });
    const listed = await run(['peers', 'list', '--json', '--config-dir', joinDir]);
    expect((JSON.parse(listed.stdout) as { peers: { name: string }[] }).peers.map((p) => p.name)).toEqual(['laptop']);
    // The secret is only in the string the offer prints; not in logs, results or stored files.
    const leaks = [offer.stderr.join(''), offer.stdout.slice(1).join('\n'), joined.stdout, joined.stderr, listed.stdout,
      readFileSync(join(offerDir, 'peers.json'), 'utf8'), readFileSync(join(joinDir, 'peers.json'), 'utf8')].join('\n');
    expect(leaks).not.toContain(secret);
    expect(leaks).not.toContain(Buffer.from(secret, 'base64url').toString('hex'));
  });

  it('a join that cannot save the peer: each side says which device failed and what to do, exit 1, and neither keeps the other', async () => {
    const offerDir = join(root, 'desk');
    const joinDir = join(root, 'tablet');
    // Something in the way of peers.json on the joiner (as a full disk or a read-only folder would be).
    mkdirSync(join(joinDir, 'peers.json'), { recursive: true, mode: 0o700 });
    chmodSync(joinDir, 0o700);
    const offer = startJson(['lan', 'offer', '--config-dir', offerDir, '--name', 'desk', '--address', '127.0.0.1', '--bind', '127.0.0.1', '--no-discovery', '--json', '--timeout', '20']);
    const connection = String((await offer.first).connectionString);
    const joined = await run(['lan', 'join', '-', '--config-dir', joinDir, '--name', 'tablet', '--out', root, '--no-discovery'], connection);
    expect(joined.code).toBe(1);
    expect(joined.stderr).toContain(`This device could not save "desk" as a trusted peer. The trusted-peer file ${join(joinDir, 'peers.json')} cannot be read (it is a folder, not a file).`);
    expect(joined.stderr).toMatch(/"desk" was told, and takes this device back: neither trusts the other\. Then pair again\.\s*\[lan_trust_not_saved\]/);
    expect(await offer.exit).toBe(1);
    expect(offer.stderr.join('')).toMatch(/"tablet" did not complete the pairing\. It could not save this device as a trusted peer: its trusted-peer file cannot be read \[lan_peers_file_unreadable\]\. So this device did not keep "tablet" as a trusted peer either: neither trusts the other\. Fix the problem on "tablet" \(it says what\), then pair again\.\s*\[lan_peer_not_saved\]/);
    const listed = await run(['peers', 'list', '--json', '--config-dir', offerDir]);
    expect((JSON.parse(listed.stdout) as { peers: unknown[] }).peers).toEqual([]);
  });

  it('connect: mutual TLS pinned to stored keys, a stranger refused, a removed peer unknown', async () => {
    const laptop = join(root, 'laptop');
    const phone = join(root, 'phone');
    const listener = startJson(['lan', 'connect', '--listen', '--config-dir', laptop, '--bind', '127.0.0.1', '--port', '0', '--json', '--timeout', '20']);
    const { port } = await listener.first as { port: number };
    // A device that never paired cannot get in, even knowing the address.
    const strangerDir = join(root, 'stranger');
    const stranger = await run(['lan', 'connect', 'laptop', '--config-dir', strangerDir, '--address', '127.0.0.1', '--port', String(port)]);
    expect(stranger.code).not.toBe(0);
    expect(stranger.stderr).toMatch(/No trusted peer matches "laptop".*\[lan_unknown_peer\]/);
    const ok = await run(['lan', 'connect', 'laptop', '--config-dir', phone, '--address', '127.0.0.1', '--port', String(port), '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ event: 'paired', peer: { name: 'laptop' } });
    expect(await listener.exit).toBe(0);
    const removed = await run(['peers', 'remove', 'laptop', '--config-dir', phone]);
    expect(removed.stdout).toMatch(/Removed "laptop"/);
    const again = await run(['lan', 'connect', 'laptop', '--config-dir', phone, '--address', '127.0.0.1', '--port', String(port)]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/\[lan_unknown_peer\]/);
  });

  it('refuses a device whose key the listener does not trust', async () => {
    const laptop = join(root, 'laptop');
    const listener = startJson(['lan', 'connect', '--listen', '--config-dir', laptop, '--bind', '127.0.0.1', '--port', '0', '--json', '--timeout', '20']);
    const { port } = await listener.first as { port: number };
    // A fresh device that pins laptop's real key (so TLS to laptop succeeds) but that laptop never
    // paired with: laptop must refuse it by its client certificate.
    const intruder = join(root, 'intruder');
    const identity = JSON.parse(readFileSync(join(laptop, 'device.json'), 'utf8')) as { deviceId: string; certPem: string };
    const { certificatePin } = await import('../../src/doors/lan/tls-identity.js');
    const { TrustedPeerStore } = await import('../../src/doors/lan/trusted-peers.js');
    const { resolveConfigDir } = await import('../../src/doors/lan/config-dir.js');
    await new TrustedPeerStore(resolveConfigDir(intruder)).save({ deviceId: identity.deviceId, name: 'laptop', keySha256: certificatePin(identity.certPem).toString('base64url'), addresses: ['127.0.0.1'] });
    const refused = await run(['lan', 'connect', 'laptop', '--config-dir', intruder, '--address', '127.0.0.1', '--port', String(port)]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('pairgate: The other device does not trust this one: it never paired with it, or removed it since ("pairgate peers remove"). '
      + 'Pair the two again ("pairgate lan offer" on one, "pairgate lan join" on the other), then connect. [lan_not_trusted]');
    expect(refused.code).toBe(2);
    listener.child.kill();
  });

  it('peers remove waits for another command changing peers.json, then says so (exit 1, lan_peers_file_busy)', async () => {
    const dir = join(root, 'busy');
    const { TrustedPeerStore } = await import('../../src/doors/lan/trusted-peers.js');
    const { resolveConfigDir } = await import('../../src/doors/lan/config-dir.js');
    const store = new TrustedPeerStore(resolveConfigDir(dir));
    await store.save({ deviceId: 'id-laptop', name: 'laptop', keySha256: 'key-laptop', addresses: ['127.0.0.1'] });
    // Held by a live process of this host (this one), as another pairgate command in the middle of a change.
    writeFileSync(store.lockPath, JSON.stringify({ pid: process.pid, host: hostname(), token: 'other', since: new Date().toISOString() }));
    const started = Date.now();
    const busy = await run(['peers', 'remove', 'laptop', '--config-dir', dir]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(5000);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toContain(`is being changed by another pairgate command (process ${process.pid},`);
    expect(busy.stderr).toMatch(/delete \S+peers\.json\.lock\. \[lan_peers_file_busy\]/);
    expect(store.list().map((p) => p.name)).toEqual(['laptop']);
    unlinkSync(store.lockPath);
    expect((await run(['peers', 'remove', 'laptop', '--config-dir', dir])).stdout).toMatch(/Removed "laptop"/);
  });

  it('peers list with a config folder that does not exist says so and creates nothing (a mistyped --config-dir)', async () => {
    const missing = join(root, 'no-such-config');
    const listed = await run(['peers', 'list', '--config-dir', missing]);
    expect(listed.stdout).toBe(`No trusted peers yet: the config folder ${missing} does not exist (no pairing was made with it; check --config-dir or PAIRGATE_CONFIG_DIR).\n`);
    expect(listed.code).toBe(0);
    expect(JSON.parse((await run(['peers', 'list', '--json', '--config-dir', missing])).stdout)).toEqual({ peers: [] });
    expect(existsSync(missing)).toBe(false);
  });

  it('a join of an offer that has ended says why each address failed as it goes, and once: the final error names the address and what to do, not the socket error again', async () => {
    // An offer that timed out: its string is stale, nothing listens on its port any more.
    const offer = startJson(['lan', 'offer', '--config-dir', join(root, 'stale'), '--name', 'stale', '--address', '127.0.0.1', '--bind', '127.0.0.1', '--no-discovery', '--json', '--no-qr', '--timeout', '1']);
    const shown = await offer.first;
    const connection = String(shown.connectionString);
    const where = `127.0.0.1:${String(shown.port)}`;
    expect(await offer.exit).toBe(2);
    const once = (text: string, part: string) => expect(text.split(part).length - 1, `${part} in:\n${text}`).toBe(1);
    const direct = await run(['lan', 'join', '-', '--config-dir', join(root, 'late'), '--no-discovery'], connection);
    expect(direct.code).toBe(1);
    once(direct.stderr, 'ECONNREFUSED');
    expect(direct.stderr).toContain(`Dialling ${where}...\nNo address answered: ${where}: connect ECONNREFUSED ${where}.\n`);
    expect(direct.stderr).toContain(`pairgate: Cannot reach "stale" at ${where}. The device is there, but nothing listens on that port any more: its offer has ended`);
    expect(direct.stderr).toMatch(/Start a new offer there and use its new string\. \[lan_peer_unreachable\]\n$/);
    // With discovery, which hears nothing: the same, said once.
    const looked = await run(['lan', 'join', '-', '--config-dir', join(root, 'late'), '--timeout', '1'], connection);
    expect(looked.code).toBe(1);
    once(looked.stderr, 'ECONNREFUSED');
    once(looked.stderr, 'nothing listens on that port');
    expect(looked.stderr).toContain(`pairgate: Cannot reach "stale" at ${where}. Multicast discovery heard nothing from it either. The device is there, but nothing listens on that port any more`);
  });

  it('explains bad connection strings without echoing them, and the commands have --help', async () => {
    const bad = await run(['lan', 'join', 'pg1:AAAA:AA', '--no-discovery', '--config-dir', join(root, 'x')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/\[lan_bad_connection_string\]/);
    expect(bad.stderr).not.toContain('pg1:AAAA:AA');
    const newer = await run(['lan', 'inspect', 'pg9:abc']);
    expect(newer.stderr).toMatch(/version 9.*Update pairgate/);
    for (const command of [['lan', 'offer'], ['lan', 'join'], ['lan', 'connect'], ['peers', 'remove'], ['doctor']]) {
      const help = await run([...command, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/^Usage: pairgate /);
    }
    // How the two halves of `lan connect` go together, which its options alone do not say.
    expect((await run(['lan', 'connect', '--help'])).stdout).toContain('$ pairgate lan connect --listen                     # on one device, first');
    // A join of an ended offer exits 1 (unreachable), as the join's own test shows: the help says so.
    expect((await run(['lan', '--help'])).stdout.replace(/\s+/g, ' ')).toContain('1 when the other device could not be reached (an offer that has ended too)');
  });
});
