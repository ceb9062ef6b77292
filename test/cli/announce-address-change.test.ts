import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBoxIdentity, type BoxIdentity } from '../../src/doors/registry/box-identity.js';
import type { DnsRuntime } from '../../src/doors/dns/dns-door.js';
import { RegistryClient } from '../../src/sdk/registry.js';
import { useListeningApp, type TestApp } from '../helpers/app.js';
import { ensureBuilt } from '../helpers/node-process.js';
import { cliChildren, type CliChild } from './cli-child.js';
import { createDnsApp, resolverFor, ZONE } from '../doors/dns/dns-helpers.js';
import { listening } from '../sdk/consumer-sdk-helpers.js';

/**
 * `pairgate box announce --zone --update-api` while the box's local IPv4 address changes: the new
 * address is published under the next mirror name (and `local`), and the registry hands browsers
 * that mirror. The child's address comes from a preload that fakes os.networkInterfaces() from a
 * file the test rewrites (fixtures/fake-interfaces.cjs): the machine's real interfaces cannot be
 * changed without disturbing the other tests running on it. Without DNS: which address a box
 * announces among several interfaces (the routing table's answer, faked by the same preload), and
 * that it announces none while it has none.
 */

beforeAll(() => ensureBuilt(), 120_000);

const run = cliChildren();
const FAKE_INTERFACES = fileURLToPath(new URL('./fixtures/fake-interfaces.cjs', import.meta.url));
const FIRST = '192.168.77.10';
const SECOND = '192.168.77.20';

/**
 * A TCP proxy in front of a server (the update API, the registry) that the test steers: `hold()`
 * keeps the connections it accepts waiting (counted in `heldCount`) until `pass()` passes them
 * on, so a DNS update lasts as long as the test wants; `drop()` closes the open ones and each new
 * one at once, a server gone; `pass()` passes every connection on again.
 */
interface Gate {
  url: string;
  heldCount(): number;
  hold(): void;
  drop(): void;
  pass(): void;
  close(): void;
}

async function gateTo(upstreamPort: number, scheme: 'http' | 'https'): Promise<Gate> {
  const sockets: Socket[] = [];
  let mode: 'pass' | 'hold' | 'drop' = 'pass';
  const held: Array<() => void> = [];
  let heldTotal = 0;
  const passOn = (socket: Socket): void => {
    const upstream = connect(upstreamPort, '127.0.0.1');
    sockets.push(upstream);
    upstream.on('error', () => socket.destroy());
    socket.on('close', () => upstream.destroy());
    upstream.on('close', () => socket.destroy());
    socket.pipe(upstream);
    upstream.pipe(socket);
  };
  const { server, port } = await listening<Server>(createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
    if (mode === 'drop') socket.destroy();
    else if (mode === 'hold') {
      // Unread until passed on: the client's first bytes wait in the socket.
      heldTotal++;
      held.push(() => passOn(socket));
    } else passOn(socket);
  }));
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    heldCount: () => heldTotal,
    hold: () => {
      mode = 'hold';
      heldTotal = 0;
    },
    drop: () => {
      mode = 'drop';
      // A connection kept alive (fetch's) went on reaching the server.
      for (const socket of sockets.splice(0)) socket.destroy();
    },
    pass: () => {
      mode = 'pass';
      for (const waiting of held.splice(0)) waiting();
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

/** A pattern for `text` as it is. */
const literally = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('pairgate box announce --zone --update-api: the local address changes while it announces', () => {
  let t: TestApp;
  let runtime: DnsRuntime;
  let updateGate: Gate;
  let registryGate: Gate;
  let dir: string;
  let caFile: string;

  beforeAll(async () => {
    ({ t, runtime } = await createDnsApp());
    await t.listen();
    updateGate = await gateTo(runtime.updateApi!.port, 'https');
    registryGate = await gateTo(Number(new URL(t.url).port), 'http');
    dir = mkdtempSync(join(tmpdir(), 'pairgate-announce-address-'));
    caFile = join(dir, 'update-ca.pem');
    writeFileSync(caFile, runtime.updateCertPem!);
  }, 60_000);
  afterAll(async () => {
    updateGate?.close();
    registryGate?.close();
    await t?.close();
  });

  /** A new box announcing through the gates, its address read from an interfaces file of its own. */
  async function startAnnouncing(name: string, address: string, extra: string[] = []) {
    const box = await initBoxIdentity(join(dir, name), { name });
    const interfaces = join(dir, `${name}-interfaces`);
    writeFileSync(interfaces, address);
    const announce = run([
      'box', 'announce', '--dir', box.dir, '--server', registryGate.url, '--zone', ZONE,
      '--update-api', updateGate.url, '--update-ca', caFile, '--port', '4443', '--name', name, ...extra,
    ], { preload: FAKE_INTERFACES, env: { PAIRGATE_TEST_INTERFACES_FILE: interfaces } });
    const mirror = (label: string): string => `${label}.${box.fingerprint}.${ZONE}`;
    /** The line the command prints once it announced `label`'s mirror. */
    const announced = (label: string): RegExp => new RegExp(`^announced ${box.fingerprint} \\(https://${literally(mirror(label))}:4443\\)$`, 'm');
    await announce.waitFor(announced('a'));
    return { box, announce, interfaces, mirror, announced };
  }

  /** What a browser finding boxes is told of `box`: the local origin in the registry's lookup. */
  async function foundOrigin(box: BoxIdentity): Promise<string | null | undefined> {
    const found = await new RegistryClient({ baseUrl: t.url }).findBoxes();
    return found.find((entry) => entry.client === box.fingerprint)?.localOrigin;
  }

  /** The A records of `name` on the DNS door's server (a new resolver each time: no cached answer). */
  async function addresses(name: string): Promise<Array<{ address: string; ttl: number }>> {
    return resolverFor(runtime.dns.port).resolve4(name, { ttl: true }).catch(() => []);
  }

  /** Ctrl-C: the command ends with 0, having said nothing on standard error but `err`. */
  async function stop(announce: CliChild, err = ''): Promise<void> {
    announce.child.kill('SIGINT');
    expect(await announce.exited).toEqual({ code: 0, signal: null });
    expect(announce.err()).toBe(err);
  }

  it('publishes the new address under the next mirror and `local`, keeps the old mirror\'s answer, and the registry hands browsers the new mirror as soon as it answers', async () => {
    const { box, announce, interfaces, mirror, announced } = await startAnnouncing('kitchen', FIRST);
    expect(await foundOrigin(box)).toBe(`https://${mirror('a')}:4443`);
    expect(await addresses(mirror('a'))).toEqual([{ address: FIRST, ttl: 60 }]);
    expect((await addresses(mirror('local'))).map((record) => record.address)).toEqual([FIRST]);

    writeFileSync(interfaces, SECOND);
    const changed = Date.now();
    await expect.poll(() => addresses(mirror('b')), { timeout: 8_000, interval: 50 }).toEqual([{ address: SECOND, ttl: 60 }]);
    const published = Date.now();
    await expect.poll(() => foundOrigin(box), { timeout: 8_000, interval: 50 }).toBe(`https://${mirror('b')}:4443`);
    // Noticed at the next 5 s check and announced at once, not at the check after it (the
    // registry sent browsers to the old mirror 5 s more).
    expect(Date.now() - published).toBeLessThan(2_000);
    expect(Date.now() - changed).toBeLessThan(7_500);
    expect((await addresses(mirror('local'))).map((record) => record.address)).toEqual([SECOND]);
    // docs/registry-dns.md: a cache holding the old mirror keeps a stale but expiring answer (TTL
    // 60 s), so the old mirror is left as it was, not removed.
    expect(await addresses(mirror('a'))).toEqual([{ address: FIRST, ttl: 60 }]);
    await announce.waitFor(announced('b'));
    expect(JSON.parse(readFileSync(join(box.dir, 'mirror-state.json'), 'utf8'))).toEqual({ ip: SECOND, active: 1 });
    await stop(announce);
  }, 60_000);

  it('runs one DNS update at a time when one outlasts the 5 s check (a second one wrote the same mirror over it), and announces the new mirror once it is through', async () => {
    const { box, announce, interfaces, mirror, announced } = await startAnnouncing('hall', FIRST);
    updateGate.hold();
    writeFileSync(interfaces, SECOND);
    try {
      // The first update of the change waits at the gate; two more 5 s checks pass meanwhile.
      await expect.poll(() => updateGate.heldCount(), { timeout: 6_000, interval: 50 }).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 10_500));
      expect(updateGate.heldCount()).toBe(1);
      expect(await foundOrigin(box)).toBe(`https://${mirror('a')}:4443`);
    } finally {
      updateGate.pass();
    }
    await announce.waitFor(announced('b'));
    expect(await foundOrigin(box)).toBe(`https://${mirror('b')}:4443`);
    expect(await addresses(mirror('b'))).toEqual([{ address: SECOND, ttl: 60 }]);
    await stop(announce);
  }, 60_000);

  it('says a DNS update or an announcement that keeps failing once, not at every 5 s retry, and announces the new mirror once both servers are back', async () => {
    const { box, announce, interfaces, mirror, announced } = await startAnnouncing('cellar', FIRST, ['--interval', '1s']);
    updateGate.drop();
    registryGate.drop();
    writeFileSync(interfaces, SECOND);
    try {
      await expect.poll(() => /DNS update failed/.test(announce.err()) && /announce failed/.test(announce.err()), { timeout: 8_000, interval: 50 }).toBe(true);
      // Two more 5 s retries of each.
      await new Promise((resolve) => setTimeout(resolve, 10_500));
    } finally {
      updateGate.pass();
      registryGate.pass();
    }
    await announce.waitFor(announced('b'));
    expect(await foundOrigin(box)).toBe(`https://${mirror('b')}:4443`);
    const lines = announce.err().split('\n').filter(Boolean);
    expect(lines.filter((line) => line.startsWith('pairgate: DNS update failed: ')), announce.err()).toHaveLength(1);
    expect(lines.filter((line) => line.startsWith('pairgate: announce failed: ')), announce.err()).toHaveLength(1);
    expect(lines).toHaveLength(2);
    await stop(announce, announce.err());
  }, 60_000);

  it('keeps what it published while the box has no address (not the loopback one), and puts the address after the gap under the next mirror', async () => {
    const { box, announce, interfaces, mirror, announced } = await startAnnouncing('attic', FIRST);
    writeFileSync(interfaces, '');
    // Two 5 s checks without an address.
    await new Promise((resolve) => setTimeout(resolve, 10_500));
    expect(await addresses(mirror('b'))).toEqual([]);
    expect(await foundOrigin(box)).toBe(`https://${mirror('a')}:4443`);
    writeFileSync(interfaces, SECOND);
    await announce.waitFor(announced('b'));
    expect(await foundOrigin(box)).toBe(`https://${mirror('b')}:4443`);
    expect(await addresses(mirror('b'))).toEqual([{ address: SECOND, ttl: 60 }]);
    // The old mirror, which caches may still answer with the address before, was not reused.
    expect(await addresses(mirror('a'))).toEqual([{ address: FIRST, ttl: 60 }]);
    expect(announce.out().match(/^announced /gm)).toHaveLength(2);
    await stop(announce);
  }, 60_000);
});

describe('pairgate box announce: which local address, and none while there is none', () => {
  const app = useListeningApp();
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pairgate-announce-which-'));
  });

  /** A new box, its interfaces (one per line) and, when given, the address the system routes from toward the internet. */
  async function boxWith(name: string, interfaces: string, route?: string) {
    const box = await initBoxIdentity(join(dir, name), { name });
    const interfacesFile = join(dir, `${name}-interfaces`);
    writeFileSync(interfacesFile, interfaces);
    // Set for the child (the preload reads them), never read here.
    const routeFile = join(dir, `${name}-route`);
    if (route !== undefined) writeFileSync(routeFile, route);
    const env: Record<string, string> = { PAIRGATE_TEST_INTERFACES_FILE: interfacesFile, ...(route === undefined ? {} : { PAIRGATE_TEST_ROUTE_FILE: routeFile }) };
    const announce = (extra: string[] = []): CliChild => run(['box', 'announce', '--dir', box.dir, '--server', app.base, '--port', '4443', ...extra], { preload: FAKE_INTERFACES, env });
    return { box, interfacesFile, announce };
  }

  async function foundOrigin(box: BoxIdentity): Promise<string | null | undefined> {
    const found = await new RegistryClient({ baseUrl: app.base }).findBoxes();
    return found.find((entry) => entry.client === box.fingerprint)?.localOrigin;
  }

  it('announces the address the system routes from, not a Docker bridge or VPN interface listed before it; with no route, a private-range one', async () => {
    const docker = await boxWith('docker', 'docker0 172.17.0.1\neth0 192.168.77.10', '192.168.77.10');
    const once = docker.announce(['--once']);
    expect(await once.exited, once.err()).toEqual({ code: 0, signal: null });
    expect(await foundOrigin(docker.box)).toBe('https://192.168.77.10:4443');

    // No way out of the network: the route look-up fails, and a private-range address is taken
    // over a carrier-grade NAT one (a VPN's 100.64.0.0/10) listed before it.
    const offline = await boxWith('offline', 'tun0 100.64.0.5\neth0 192.168.77.11', '');
    const offlineOnce = offline.announce(['--once']);
    expect(await offlineOnce.exited, offlineOnce.err()).toEqual({ code: 0, signal: null });
    expect(await foundOrigin(offline.box)).toBe('https://192.168.77.11:4443');
  }, 60_000);

  it('--once with no address announces nothing (not 127.0.0.1): no_local_address, exit 1', async () => {
    const { box, announce } = await boxWith('unplugged', '');
    const once = announce(['--once']);
    expect(await once.exited).toEqual({ code: 1, signal: null });
    expect(once.out()).toBe('');
    expect(once.err()).toMatch(/^pairgate: Nothing was announced: this machine has no IPv4 address on a network .*--local-origin\. \[no_local_address\]\n$/);
    expect(await foundOrigin(box)).toBeUndefined();
    // A given --local-origin needs no address.
    const given = announce(['--once', '--local-origin', 'https://192.168.77.9:4443']);
    expect(await given.exited, given.err()).toEqual({ code: 0, signal: null });
    expect(await foundOrigin(box)).toBe('https://192.168.77.9:4443');
  }, 60_000);

  it('announces nothing while the machine has no address (127.0.0.1 was announced), then the address at the first check that finds it', async () => {
    const { box, interfacesFile, announce } = await boxWith('waiting', '');
    const child = announce();
    await child.waitFor(/nothing is announced until it has one/, child.err);
    // A 5 s check without an address.
    await new Promise((resolve) => setTimeout(resolve, 5_500));
    expect(child.out()).toBe('');
    expect(await foundOrigin(box)).toBeUndefined();
    writeFileSync(interfacesFile, '192.168.77.30');
    const written = Date.now();
    await child.waitFor(new RegExp(`^announced ${box.fingerprint} \\(https://192\\.168\\.77\\.30:4443\\)$`, 'm'));
    expect(Date.now() - written).toBeLessThan(7_000);
    expect(await foundOrigin(box)).toBe('https://192.168.77.30:4443');
    child.child.kill('SIGINT');
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(child.out().match(/^announced /gm)).toHaveLength(1);
    expect(child.err()).toMatch(/^pairgate: this machine has no IPv4 address on a network .*: nothing is announced until it has one \(looked for every 5 s\)\.\n$/);
  }, 60_000);
});
