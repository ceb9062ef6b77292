import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeConnectionString } from '../../../src/doors/lan/connection-string.js';
import { encodeAnnouncement, MAX_ANNOUNCEMENT_SKEW_MS, startAnnouncer, type Announcer } from '../../../src/doors/lan/discovery.js';
import { join } from '../../../src/doors/lan/join.js';
import { createTlsIdentity } from '../../../src/doors/lan/tls-identity.js';
import { deviceDir, loopbackOffer } from './lan-fixtures.js';
import { freePort, freePort as closedPort } from '../../helpers/ports.js';

// Multicast on the loopback interface, on a port no other test file of the run holds.
const loopback = { interfaceAddress: '127.0.0.1', port: await freePort(), intervalMs: 100 };

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A TLS listener with a key of its own: an announcer pointing here is not the device. */
async function impostorListener(): Promise<number> {
  const identity = await createTlsIdentity('impostor', 600);
  const server = tls.createServer({ key: identity.keyPem, cert: identity.certPem });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as net.AddressInfo).port;
}

async function announcer(deviceId: string, port: number, secret: Buffer): Promise<Announcer> {
  const running = await startAnnouncer({ ...loopback, announcement: { deviceId, port }, secret });
  cleanups.push(() => running.stop());
  return running;
}

/**
 * Sends, every 50 ms, what an attacker on the network can: the offer's announcement recorded
 * minutes ago (from the offer's own address) and a fresh copy of it sent from another machine.
 */
async function replayer(deviceId: string, port: number, secret: Buffer): Promise<void> {
  const stale = encodeAnnouncement({ deviceId, port }, randomBytes(8), { secret, sentAt: Date.now() - 3 * MAX_ANNOUNCEMENT_SKEW_MS, from: '127.0.0.1' });
  const onTime = dgram.createSocket('udp4');
  const elsewhere = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => onTime.bind(0, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => elsewhere.bind(0, '127.0.0.2', resolve));
  const timer = setInterval(() => {
    onTime.send(stale, loopback.port, '127.0.0.1');
    const copy = encodeAnnouncement({ deviceId, port }, randomBytes(8), { secret, sentAt: Date.now(), from: '127.0.0.1' });
    elsewhere.send(copy, loopback.port, '127.0.0.1');
  }, 50);
  cleanups.push(() => {
    clearInterval(timer);
    onTime.close();
    elsewhere.close();
  });
}

describe('join by discovery when announcers lie (real UDP and TLS on loopback)', () => {
  it('an authenticated announcer at a wrong address, and one where nothing listens, do not stop the join from reaching the real device', async () => {
    const { offer } = await loopbackOffer({ addresses: [] });
    cleanups.push(() => offer.close());
    const info = decodeConnectionString(offer.connectionString);
    // Someone holding the string (or replaying an older offer's packets) announces the device at
    // addresses that are not it, before the device itself is heard.
    await announcer(info.deviceId, await impostorListener(), info.secret);
    const refusedPort = await closedPort();
    await announcer(info.deviceId, refusedPort, info.secret);
    await replayer(info.deviceId, offer.port, info.secret);

    const lines: string[] = [];
    const joining = join(offer.connectionString, { configDir: deviceDir('crowd'), discovery: loopback, discoveryTimeoutMs: 15_000, dialTimeoutMs: 2000, log: (line) => lines.push(line) });
    joining.catch(() => undefined);
    await expect.poll(() => lines.join('\n'), { timeout: 5000 }).toMatch(/answered with another key than the string pins; still listening/);
    await expect.poll(() => lines.join('\n'), { timeout: 5000 }).toMatch(new RegExp(`127\\.0\\.0\\.1:${refusedPort}.*still listening`));

    // Now the device announces itself: the join reaches it and pairs.
    await announcer(info.deviceId, offer.port, info.secret);
    const joined = await joining;
    expect(joined).toMatchObject({ via: 'discovery', address: '127.0.0.1' });
    expect(joined.peer.name).toBe('laptop');
    expect((await offer.result).address).toBe('127.0.0.1');
    // The wrong key was dialled once, not at every announcement round.
    expect(lines.filter((line) => /another key/.test(line))).toHaveLength(1);
  });

  it('an offer announcing itself is found in a crowd of impostors whatever the order', async () => {
    const { offer } = await loopbackOffer({ addresses: [], discovery: loopback });
    cleanups.push(() => offer.close());
    const info = decodeConnectionString(offer.connectionString);
    for (let i = 0; i < 3; i++) await announcer(info.deviceId, await impostorListener(), info.secret);
    await replayer(info.deviceId, offer.port, info.secret);
    const joined = await join(offer.connectionString, { configDir: deviceDir('crowd2'), discovery: loopback, discoveryTimeoutMs: 15_000, dialTimeoutMs: 2000 });
    expect(joined).toMatchObject({ via: 'discovery', address: '127.0.0.1' });
    expect((await offer.result).address).toBe('127.0.0.1');
  });

  it('when only other keys answer, the join ends with lan_key_mismatch once its time is up', async () => {
    const { offer } = await loopbackOffer({ addresses: [] });
    cleanups.push(() => offer.close());
    const info = decodeConnectionString(offer.connectionString);
    await announcer(info.deviceId, await impostorListener(), info.secret);
    const started = performance.now();
    await expect(join(offer.connectionString, { configDir: deviceDir('fooled'), discovery: loopback, discoveryTimeoutMs: 1500, dialTimeoutMs: 1000 })).rejects.toMatchObject({ code: 'lan_key_mismatch' });
    // It kept listening until the end instead of giving up at the first wrong key.
    expect(performance.now() - started).toBeGreaterThanOrEqual(1400);
  });

  it('hearing only replayed copies, the join says it heard nothing usable and why', async () => {
    const { offer } = await loopbackOffer({ addresses: [] });
    cleanups.push(() => offer.close());
    const info = decodeConnectionString(offer.connectionString);
    await replayer(info.deviceId, offer.port, info.secret);
    const error = await join(offer.connectionString, { configDir: deviceDir('replayed'), discovery: loopback, discoveryTimeoutMs: 1000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'lan_peer_unreachable' });
    expect((error as Error).message).toMatch(/heard nothing from it/);
    expect((error as Error).message).toMatch(/more than 60 s away from this device's clock/);
    expect((error as Error).message).toMatch(/from another address than the one they were signed for/);
  });
});
