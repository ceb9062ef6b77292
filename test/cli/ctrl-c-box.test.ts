import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBoxIdentity, type BoxIdentity } from '../../src/doors/registry/box-identity.js';
import type { DnsRuntime } from '../../src/doors/dns/dns-door.js';
import type { TestApp } from '../helpers/app.js';
import { ensureBuilt } from '../helpers/node-process.js';
import { cliChildren } from './cli-child.js';
import { startPebble, type RunningPebble } from '../helpers/pebble.js';
import { freePort as closedPort } from '../helpers/ports.js';
import { missingProgram } from '../helpers/system.js';
import { createDnsApp, resolverFor, updateClient, ZONE } from '../doors/dns/dns-helpers.js';
import { silentListener, type SilentListener } from '../sdk/consumer-sdk-helpers.js';

/**
 * Ctrl-C during the box commands' waits on the network. `box cert`: the order is stopped, the
 * `_acme-challenge` TXT records it set are removed through the update API, one line says so, and
 * it ends by SIGINT (SIGTERM likewise) (killed before, it left them answered until the server's hourly sweep).
 * `box announce`: a DNS update under way is aborted, so the exit is at once (it waited for the
 * update client's 15 s timeout).
 */

beforeAll(() => ensureBuilt(), 120_000);

/** The built CLI with its output collected. */
const run = cliChildren();

/** A DNS server that receives every query and answers none: a wait for a record there lasts. */
async function silentDnsServer(): Promise<{ socket: UdpSocket; port: number; queries: () => number }> {
  const socket = createSocket('udp4');
  let queries = 0;
  socket.on('message', () => queries++);
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, port: socket.address().port, queries: () => queries };
}

const skipPebble = missingProgram('pebble', 'the box cert Ctrl-C test against a real ACME server');

describe.skipIf(Boolean(skipPebble))('pairgate box cert: Ctrl-C while it waits for the challenge records to show', () => {
  let t: TestApp;
  let runtime: DnsRuntime;
  let pebble: RunningPebble | undefined;
  let silent: Awaited<ReturnType<typeof silentDnsServer>>;
  let dir: string;
  let box: BoxIdentity;

  beforeAll(async () => {
    ({ t, runtime } = await createDnsApp());
    dir = mkdtempSync(join(tmpdir(), 'pairgate-acme-ctrl-c-'));
    box = await initBoxIdentity(join(dir, 'box'), { name: 'ctrl-c box' });
    writeFileSync(join(dir, 'update-ca.pem'), runtime.updateCertPem!);
    pebble = await startPebble(dir, runtime.dns.port);
    silent = await silentDnsServer();
  }, 60_000);

  afterAll(async () => {
    pebble?.stop();
    silent?.socket.close();
    await t?.close();
  });

  // SIGTERM (a script or a service manager stopping it) does what Ctrl-C does: killed by its
  // default, the command left the records answered until the sweep.
  for (const [signal, named] of [['SIGINT', 'Ctrl-C'], ['SIGTERM', 'SIGTERM']] as const) {
  it(`${signal}: removes the TXT records it set (gone from pairgate's DNS server), writes no certificate, says so in one line and ends by ${signal}`, async () => {
    const names = ['local', 'a'].map((label) => `_acme-challenge.${label}.${box.fingerprint}.${ZONE}`);
    const cert = run([
      'box', 'cert', '--dir', join(dir, 'box'), '--zone', ZONE,
      '--update-api', runtime.updateApi!.url, '--update-ca', join(dir, 'update-ca.pem'),
      '--acme-directory', pebble!.directory, '--acme-ca', pebble!.caFile,
      // Asked whether the records show, a server that never answers: the wait lasts up to --timeout.
      '--dns-server', `127.0.0.1:${silent.port}`,
      '--labels', 'local,a', '--timeout', '60s',
    ]);
    await expect.poll(() => names.every((name) => cert.err().includes(`waiting for TXT ${name} to show`)) || cert.child.exitCode !== null, { timeout: 30_000, interval: 50 }).toBe(true);
    await expect.poll(() => silent.queries(), { timeout: 5_000 }).toBeGreaterThan(0);
    // Set, and answered by pairgate's DNS server: what a kill left behind.
    const resolver = resolverFor(runtime.dns.port);
    for (const name of names) expect((await resolver.resolveTxt(name)).length).toBe(1);
    const before = cert.err();
    const pressed = Date.now();
    cert.child.kill(signal);
    expect(await cert.exited).toEqual({ code: null, signal });
    expect(Date.now() - pressed).toBeLessThan(4_000);
    // One line after the progress, nothing else.
    expect(cert.err().slice(before.length)).toBe(`\npairgate: stopped (${named}): no certificate was written; the 2 challenge records it had set were removed.\n`);
    for (const name of names) await expect(resolver.resolveTxt(name)).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect(await updateClient(runtime, box).list(`${box.fingerprint}.${ZONE}`)).toEqual([]);
    expect(existsSync(join(dir, 'box', 'cert.pem'))).toBe(false);
  }, 60_000);
  }
});

describe('pairgate box announce: Ctrl-C while a DNS update is under way', () => {
  let silent: SilentListener;
  let dir: string;

  beforeAll(async () => {
    silent = await silentListener();
    dir = mkdtempSync(join(tmpdir(), 'pairgate-announce-ctrl-c-'));
    await initBoxIdentity(join(dir, 'box'), { name: 'announcing box' });
  });
  afterAll(() => silent?.close());

  it('aborts it: the command ends within a second or two (exit 0, as stopping with Ctrl-C does), not at the update client\'s 15 s timeout', async () => {
    const announce = run([
      'box', 'announce', '--dir', join(dir, 'box'), '--server', `http://127.0.0.1:${await closedPort()}`,
      '--zone', ZONE, '--update-api', `https://127.0.0.1:${silent.port}`,
    ]);
    // Its first DNS update sent (the TLS hello), never answered.
    await expect.poll(() => silent.asked.size, { timeout: 15_000 }).toBeGreaterThan(0);
    const pressed = Date.now();
    announce.child.kill('SIGINT');
    expect(await announce.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - pressed).toBeLessThan(2_000);
    expect(announce.err()).toBe('');
    // The update's connection closed at once, not left to its timeout.
    expect(silent.sockets.every((socket) => silent.closedAt.has(socket))).toBe(true);
  }, 30_000);
});
