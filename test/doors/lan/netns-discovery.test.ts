import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ensureBuilt } from '../../helpers/node-process.js';
import { decodeConnectionString } from '../../../src/doors/lan/connection-string.js';
import { missingProgram, unmetRequirement } from '../../helpers/system.js';
import { createHostPair, setLinkDown, type HostPair } from './netns.js';

const cli = CLI;

const skip = unmetRequirement(process.getuid?.() === 0, 'network namespaces need root') ?? missingProgram('ip', 'network namespaces (iproute2)');

const children: ChildProcess[] = [];

/** Runs the CLI inside a namespace; resolves the first JSON line and the whole run. */
function inNamespace(ns: string, args: string[], stdin?: string) {
  // `ip netns exec` execs node in place, so killing the child kills node.
  const child = spawn('ip', ['netns', 'exec', ns, 'node', cli, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  child.stdin.end(stdin ?? '');
  const stdout: string[] = [];
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += String(d); });
  const exit = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? -1)));
  const first = new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      stdout.push(line);
      if (stdout.length !== 1) return;
      try {
        resolve(JSON.parse(line) as Record<string, unknown>);
      } catch {
        reject(new Error(`not JSON: ${line}`));
      }
    });
    void exit.then(() => reject(new Error(`exited without output: ${stderr}`)));
  });
  first.catch(() => undefined);
  return { child, first, stdout, exit, stderr: () => stderr };
}

describe.skipIf(skip !== undefined)(`lan between two hosts in network namespaces${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let hosts: HostPair | undefined;
  let root: string;
  beforeAll(() => {
    ensureBuilt();
    root = mkdtempSync(join(tmpdir(), 'pairgate-netns-'));
    hosts = createHostPair(40 + (process.pid % 150));
  }, 120_000);
  afterAll(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill();
    hosts?.remove();
  });

  it('own-IP discovery: stage 1 fails (no route), stage 2 finds the private address, join pairs by it', async () => {
    const h = hosts!;
    const offer = inNamespace(h.a, ['lan', 'offer', '--config-dir', join(root, 'a1'), '--json', '--no-qr', '--timeout', '30']);
    const shown = await offer.first as { connectionString: string; ownIp: { stages: { stage: number; status: string; addresses: string[] }[] } };
    expect(shown.ownIp.stages.map((s) => [s.stage, s.status])).toEqual([[1, 'fail'], [2, 'ok'], [3, 'skip']]);
    expect(shown.ownIp.stages[1]!.addresses).toEqual([h.addressA]);
    expect(decodeConnectionString(shown.connectionString).addresses).toEqual([h.addressA]);
    const joined = inNamespace(h.b, ['lan', 'join', '-', '--config-dir', join(root, 'b1'), '--json', '--no-discovery'], shown.connectionString);
    expect(await joined.exit).toBe(0);
    expect(JSON.parse(joined.stdout[0]!)).toMatchObject({ via: 'address', address: h.addressA });
    expect(await offer.exit).toBe(0);
  });

  it('when the string\'s addresses are wrong, authenticated multicast finds the peer', async () => {
    const h = hosts!;
    const wrong = h.addressA.replace(/\.1$/, '.77');
    const offer = inNamespace(h.a, ['lan', 'offer', '--config-dir', join(root, 'a2'), '--json', '--address', wrong, '--timeout', '30']);
    const shown = await offer.first as { connectionString: string };
    expect(decodeConnectionString(shown.connectionString).addresses).toEqual([wrong]);
    const joined = inNamespace(h.b, ['lan', 'join', '-', '--config-dir', join(root, 'b2'), '--json', '--dial-timeout', '1500', '--timeout', '15'], shown.connectionString);
    const code = await joined.exit;
    expect(joined.stderr()).toMatch(/Looking for .* by multicast discovery/);
    expect(code).toBe(0);
    expect(JSON.parse(joined.stdout[0]!)).toMatchObject({ via: 'discovery', address: h.addressA });
    expect(await offer.exit).toBe(0);
    // Both sides multicast: the offer heard the joiner look for it.
    expect(offer.stderr()).toContain(`is looking for us from ${h.addressB}`);
  });

  it('a stranger without the secret is not found by discovery: announcements from another offer are ignored', async () => {
    const h = hosts!;
    const wrong = h.addressA.replace(/\.1$/, '.78');
    // A real offer announces under its own secret; the joiner holds a string with another secret
    // and the same device id, so only the HMAC tells them apart.
    const offer = inNamespace(h.a, ['lan', 'offer', '--config-dir', join(root, 'a3'), '--json', '--address', wrong, '--timeout', '30']);
    const shown = await offer.first as { connectionString: string };
    const parts = shown.connectionString.split(':');
    parts[4] = Buffer.alloc(32, 7).toString('base64url');
    const joined = inNamespace(h.b, ['lan', 'join', '-', '--config-dir', join(root, 'b3'), '--dial-timeout', '1000', '--timeout', '3'], parts.join(':'));
    expect(await joined.exit).not.toBe(0);
    expect(joined.stderr()).toMatch(/Multicast discovery heard nothing from it/);
    offer.child.kill();
    await offer.exit;
  });

  it('lan nearby on one host lists an offer that announces itself on the other', async () => {
    const h = hosts!;
    const offer = inNamespace(h.a, ['lan', 'offer', '--config-dir', join(root, 'a4'), '--name', 'kitchen-pc', '--json', '--announce', '--timeout', '30']);
    const shown = await offer.first as { deviceId: string; port: number };
    const nearby = inNamespace(h.b, ['lan', 'nearby', '--json', '--seconds', '2']);
    expect(await nearby.exit).toBe(0);
    const { devices } = JSON.parse(nearby.stdout[0]!) as { devices: { name: string; address: string; port: number; deviceId: string }[] };
    expect(devices).toEqual([{ deviceId: shown.deviceId, name: 'kitchen-pc', address: h.addressA, port: shown.port, code: false }]);
    offer.child.kill();
    await offer.exit;
  });

  it('doctor counts the other devices it heard, not their announcements', async () => {
    const h = hosts!;
    const offer = inNamespace(h.a, ['lan', 'offer', '--config-dir', join(root, 'a5'), '--name', 'hall-pc', '--json', '--announce', '--timeout', '30']);
    await offer.first;
    const doctor = inNamespace(h.b, ['doctor', '--json', '--multicast-wait', '1500']);
    expect(await doctor.exit).toBe(0);
    const multicast = (JSON.parse(doctor.stdout.join('\n')) as { checks: { name: string; summary: string; details: { othersHeard: unknown[] } }[] }).checks.find((c) => c.name === 'multicast')!;
    // The offer announced several times in the wait: one device, listed once.
    expect(multicast.details.othersHeard.length).toBe(1);
    expect(multicast.summary).toMatch(/heard 1 other device$/);
    offer.child.kill();
    await offer.exit;
  });

  it('doctor completes every check with an interface down, and reports it', async () => {
    const h = hosts!;
    const healthy = inNamespace(h.a, ['doctor', '--json', '--multicast-wait', '600']);
    expect(await healthy.exit).toBe(0);
    const good = JSON.parse(healthy.stdout.join('\n')) as { checks: { name: string; status: string }[] };
    expect(Object.fromEntries(good.checks.map((c) => [c.name, c.status]))).toMatchObject({ interfaces: 'ok', 'own-addresses': 'ok', listener: 'ok', 'self-reach': 'ok', multicast: 'ok', dns: 'skip', server: 'skip' });
    // Its own copy came back through the machine itself: that alone does not show the network carries multicast.
    expect((good.checks.find((c) => c.name === 'multicast') as { summary?: string }).summary).toContain('but heard no other device');
    setLinkDown(h.b, h.vethB);
    const broken = inNamespace(h.b, ['doctor', '--json', '--multicast-wait', '600']);
    const code = await broken.exit;
    const report = JSON.parse(broken.stdout.join('\n')) as { ok: boolean; checks: { name: string; status: string; details?: unknown }[] };
    expect(report.checks.map((c) => c.name)).toEqual(['interfaces', 'own-addresses', 'listener', 'self-reach', 'multicast', 'dns', 'server']);
    expect(code).toBe(1);
    expect(report.ok).toBe(false);
    const interfaces = report.checks[0]!;
    expect(interfaces.status).toBe('fail');
    expect(JSON.stringify(interfaces.details)).toContain(`"name":"${h.vethB}","state":"down"`);
    // Later checks still ran and say what they found.
    expect(report.checks.find((c) => c.name === 'listener')!.status).toBe('ok');
    expect(report.checks.find((c) => c.name === 'multicast')!.status).toBe('fail');
    // Without a network, that is what to fix: not a firewall, not client isolation.
    for (const name of ['multicast', 'self-reach']) {
      expect((report.checks.find((c) => c.name === name) as { hint?: string }).hint, name).toMatch(/^No network interface besides loopback is up/);
    }
    // Each check was logged on stderr as it ran.
    for (const title of ['network interfaces', 'own IP addresses', 'pairing listener port', 'reaching own addresses', 'multicast discovery (find and be found)', 'DNS', 'pairgate server reachability']) {
      expect(broken.stderr()).toContain(`checking ${title}...`);
    }
  });
});
