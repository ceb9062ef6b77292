import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import { SRP, SrpServer } from 'fast-srp-hap';
import { afterEach, describe, expect, it } from 'vitest';
import { joinWithCode } from '../../../src/doors/lan/code-join.js';
import { bindingMac, peerPin, proveCodeAsJoiner } from '../../../src/doors/lan/code-pake.js';
import { FramedChannel } from '../../../src/doors/lan/frames.js';
import { exchange } from '../../../src/doors/lan/session.js';
import { channelBinding } from '../../../src/doors/lan/secret-proof.js';
import { encodeAnnouncement, scanNearby, startAnnouncer } from '../../../src/doors/lan/discovery.js';
import { join } from '../../../src/doors/lan/join.js';
import { loadDeviceIdentity } from '../../../src/doors/lan/device-identity.js';
import type { Offer } from '../../../src/doors/lan/offer.js';
import { parsePairingCode } from '../../../src/doors/lan/pairing-code.js';
import { createTlsIdentity } from '../../../src/doors/lan/tls-identity.js';
import { TrustedPeerStore } from '../../../src/doors/lan/trusted-peers.js';
import { deviceDir, loopbackOffer } from './lan-fixtures.js';
import { freePort } from '../../helpers/ports.js';

// Multicast on the loopback interface, on a port no other test file of the run holds; `aside` is a
// second such port, where offers announce themselves unheard by joiners listening on `loopback`.
const loopback = { interfaceAddress: '127.0.0.1', port: await freePort(), intervalMs: 100 };
const aside = await freePort();

const cleanups: (() => Promise<void> | void)[] = [];
const offers: Offer[] = [];
afterEach(async () => {
  await Promise.all(offers.splice(0).map((o) => o.close()));
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function codeOffer(overrides: Parameters<typeof loopbackOffer>[0] = {}) {
  const made = await loopbackOffer({ code: true, handshakeTimeoutMs: 5000, ...overrides });
  offers.push(made.offer);
  expect(made.offer.code).toMatch(/^\d{4}-\d{4}$/);
  return made;
}

/** The offer's code with its last digit changed: always wrong. */
function wrongCode(code: string): string {
  const last = Number(code.at(-1));
  return `${code.slice(0, -1)}${(last + 1) % 10}`;
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code ?? (error as Error).message;
  }
}

/**
 * A man in the middle that terminates TLS on each side: its own certificate towards the joiner,
 * its own TLS client connection (and client certificate) to the offer, forwarding every byte.
 */
async function relay(offerPort: number): Promise<{ port: number; forwarded: () => number }> {
  const front = await createTlsIdentity('relay', 600);
  const back = await createTlsIdentity('relay client', 600);
  let forwarded = 0;
  const sockets: net.Socket[] = [];
  const server = tls.createServer({ key: front.keyPem, cert: front.certPem, requestCert: true, rejectUnauthorized: false }, (joiner) => {
    const upstream = tls.connect({ host: '127.0.0.1', port: offerPort, rejectUnauthorized: false, key: back.keyPem, cert: back.certPem });
    sockets.push(joiner, upstream);
    joiner.on('data', (chunk: Buffer) => { forwarded += chunk.length; upstream.write(chunk); });
    upstream.on('data', (chunk: Buffer) => { forwarded += chunk.length; joiner.write(chunk); });
    joiner.on('close', () => upstream.destroy());
    upstream.on('close', () => joiner.destroy());
    joiner.on('error', () => undefined);
    upstream.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as net.AddressInfo).port, forwarded: () => forwarded };
}

describe('lan pairing by short code (SRP-6a bound to TLS, real sockets on loopback)', () => {
  it('formats and reads codes forgivingly, refusing what cannot be one', () => {
    expect(parsePairingCode('1234-5678')).toBe('12345678');
    expect(parsePairingCode(' 1234 567o ')).toBe('12345670');
    for (const bad of ['1234-567', '1234-56789', '1234-567x', '']) {
      expect(() => parsePairingCode(bad)).toThrow(expect.objectContaining({ code: 'lan_bad_code' }));
    }
  });

  it('pairs with the right code and each side stores the other pinned by its device key', async () => {
    const offerDir = deviceDir('code-offer');
    const { offer, logs } = await codeOffer({ configDir: offerDir });
    const joinDir = deviceDir('code-join');
    const joined = await joinWithCode(offer.code!, { configDir: joinDir, deviceName: 'phone', address: '127.0.0.1', port: offer.port, outDir: joinDir });
    const offered = await offer.result;
    expect(joined.peer.name).toBe('laptop');
    expect(offered.peer.name).toBe('phone');
    const offerDevice = await loadDeviceIdentity(offerDir);
    const joinDevice = await loadDeviceIdentity(joinDir);
    expect(new TrustedPeerStore(joinDir).find('laptop').keySha256).toBe(offerDevice.spkiSha256.toString('base64url'));
    expect(new TrustedPeerStore(offerDir).find('phone').keySha256).toBe(joinDevice.spkiSha256.toString('base64url'));
    expect(logs.join('\n')).toContain('the pairing code was proven both ways');
    // The code is not logged.
    expect(logs.join('\n')).not.toContain(offer.code!.replace('-', ''));
  });

  it('refuses a wrong code with lan_wrong_code, counts it, and the offer stops after --max-failures', async () => {
    const { offer, logs } = await codeOffer({ maxFailures: 3 });
    const wrong = wrongCode(offer.code!);
    for (let attempt = 1; attempt <= 3; attempt++) {
      const failure = await joinWithCode(wrong, { configDir: deviceDir('code-wrong'), address: '127.0.0.1', port: offer.port, dialTimeoutMs: 2000 }).then(() => undefined, (error: Error) => error);
      expect((failure as { code?: string } | undefined)?.code).toBe('lan_wrong_code');
      // Says what to do, not only the offer's "Wrong pairing code.".
      expect(failure!.message).toContain('Type the code it shows now; each wrong code counts as a failed attempt there');
      expect(offer.failures()).toBe(attempt);
    }
    expect(await codeOf(offer.result)).toBe('lan_too_many_failures');
    expect(logs.filter((l) => l.includes('wrong pairing code'))).toHaveLength(3);
    // Even the right code now finds nobody.
    const late = await codeOf(joinWithCode(offer.code!, { configDir: deviceDir('code-late'), address: '127.0.0.1', port: offer.port, dialTimeoutMs: 1000 }));
    expect(late).toBe('lan_peer_unreachable');
  });

  it('wrong codes in parallel past the limit: the late ones are not counted (never "failed attempt 3 of 2")', async () => {
    const { offer, logs } = await codeOffer({ maxFailures: 2 });
    const wrong = wrongCode(offer.code!);
    const failures = await Promise.all(Array.from({ length: 6 }, (_, i) => joinWithCode(wrong, { configDir: deviceDir(`code-burst-${i}`), address: '127.0.0.1', port: offer.port, dialTimeoutMs: 2000 }).then(() => undefined, (error: Error & { code?: string }) => error)));
    expect(await codeOf(offer.result)).toBe('lan_too_many_failures');
    // Never "failed attempt 3 of 2": what came after the limit is logged as not counted.
    expect(logs.filter((l) => /failed attempt \d+ of 2/.test(l)).length).toBe(2);
    expect(logs.join('\n')).not.toMatch(/failed attempt [3-9] of 2/);
    expect(offer.failures()).toBe(2);
    // None paired; each failed (how depends on when its connection met the closing listener).
    expect(failures.every((failure) => failure !== undefined)).toBe(true);
  });

  it('a device connected when failed attempts stop the offer is told so, not a bare "listener closed"', async () => {
    const { offer } = await codeOffer({ maxFailures: 1 });
    const waiting = tls.connect({ host: '127.0.0.1', port: offer.port, rejectUnauthorized: false });
    await new Promise((resolve) => waiting.once('secureConnect', resolve));
    cleanups.push(() => { waiting.destroy(); });
    const channel = new FramedChannel(waiting);
    // Its connection is held (waiting for its first message) when another device's wrong code ends the offer.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await codeOf(joinWithCode(wrongCode(offer.code!), { configDir: deviceDir('code-ender'), address: '127.0.0.1', port: offer.port, dialTimeoutMs: 2000 }))).toBe('lan_wrong_code');
    expect(await codeOf(offer.result)).toBe('lan_too_many_failures');
    const told = await channel.receive(2000);
    expect(told).toMatchObject({ kind: 'json', message: { t: 'error', code: 'lan_too_many_failures' } });
    expect((told as unknown as { message: { message: string } }).message.message).toBe('This offer stopped after 1 failed attempt to pair. Ask for a new offer, with a fresh connection string and code.');
  });

  it('fails on both sides through a TLS-terminating relay that forwards the PAKE byte for byte', async () => {
    const { offer, logs } = await codeOffer({ maxFailures: 1 });
    const middle = await relay(offer.port);
    const joinDir = deviceDir('code-relayed');
    const code = await codeOf(joinWithCode(offer.code!, { configDir: joinDir, address: '127.0.0.1', port: middle.port, dialTimeoutMs: 2000 }));
    expect(code).toBe('lan_channel_binding_mismatch');
    // The relay did forward the SRP exchange (two 384-byte values and more)...
    expect(middle.forwarded()).toBeGreaterThan(1000);
    // ...and the offer refused it itself, counting the attempt, and stored nobody.
    expect(offer.failures()).toBe(1);
    expect(await codeOf(offer.result)).toBe('lan_too_many_failures');
    expect(logs.join('\n')).toContain('a relay');
    expect(new TrustedPeerStore(joinDir).list()).toHaveLength(0);
  });

  it('still pairs by its connection string (the code is an extra way in)', async () => {
    const { offer } = await codeOffer();
    const joinDir = deviceDir('code-qr');
    const joined = await join(offer.connectionString, { configDir: joinDir, outDir: joinDir, discovery: false });
    expect(joined.peer.name).toBe('laptop');
    await offer.result;
  });

  it('is listed by lan nearby as taking a code, and a join by code finds it by name', async () => {
    const { offer } = await codeOffer({ discovery: loopback, deviceName: 'den-laptop' });
    const nearby = await scanNearby({ ...loopback, durationMs: 600 });
    const listed = nearby.find((d) => d.name === 'den-laptop');
    expect(listed).toMatchObject({ port: offer.port, code: true, address: '127.0.0.1' });
    const joinDir = deviceDir('code-nearby');
    const joined = await joinWithCode(offer.code!, { configDir: joinDir, outDir: joinDir, device: 'den-laptop', discovery: loopback, discoveryTimeoutMs: 5000 });
    expect(joined.via).toBe('discovery');
    expect(joined.peer.deviceId).toBe(listed!.deviceId);
    await offer.result;
  });

  it('asks which device when several offer a code, and says when none does', async () => {
    await codeOffer({ discovery: loopback, deviceName: 'first', configDir: deviceDir('code-a') });
    await codeOffer({ discovery: loopback, deviceName: 'second', configDir: deviceDir('code-b') });
    expect(await codeOf(joinWithCode('1234-5678', { configDir: deviceDir('code-which'), discovery: loopback, discoveryTimeoutMs: 5000 }))).toBe('lan_ambiguous_device');
    expect(await codeOf(joinWithCode('1234-5678', { configDir: deviceDir('code-none'), device: 'nobody', discovery: loopback, discoveryTimeoutMs: 500 }))).toBe('lan_device_not_found');
  });

  it('a flood of made-up code offers keeps the list and the question bounded', async () => {
    const flooders: dgram.Socket[] = [];
    for (let host = 2; host < 22; host++) {
      const socket = dgram.createSocket('udp4');
      await new Promise<void>((resolve) => socket.bind(0, `127.0.1.${host}`, resolve));
      flooders.push(socket);
    }
    cleanups.push(() => { for (const socket of flooders) socket.close(); });
    let stop = false;
    cleanups.push(() => { stop = true; });
    const flood = async () => {
      for (let round = 0; round < 60 && !stop; round++) {
        for (const socket of flooders) {
          const name = `fake-${round}-${'x'.repeat(50)}`;
          socket.send(encodeAnnouncement({ deviceId: randomBytes(16).toString('base64url'), port: 1000 + round, name, code: true }, randomBytes(8)), loopback.port, '127.0.0.1');
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    const joining = codeOf(joinWithCode('1234-5678', { configDir: deviceDir('code-flood'), discovery: loopback, discoveryTimeoutMs: 5000 }).catch((error: Error) => {
      // The question names the devices: at most a screenful of them.
      expect(error.message.length).toBeLessThan(4000);
      throw error;
    }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await flood();
    expect(await joining).toBe('lan_ambiguous_device');
  });

  describe('dials every address the chosen device announces', () => {
    /** Plain code announcements of `deviceId` named `name`, sent from `from` (a loopback address) for `port`. */
    async function announceAs(deviceId: string, name: string, from: string, port: number): Promise<void> {
      const announcer = await startAnnouncer({ ...loopback, interfaceAddress: from, announcement: { deviceId, port, name, code: true } });
      cleanups.push(() => announcer.stop());
      // Heard before the real offer starts announcing.
      await new Promise((resolve) => setTimeout(resolve, 300));
    }

    it('an announcement from a dead address heard first does not stop the join: the real one pairs', async () => {
      const dir = deviceDir('code-multi');
      const { deviceId } = await loadDeviceIdentity(dir, 'multi');
      // The offer will listen on 127.0.0.1 only, so its port is dead on 127.0.0.2, announced from there
      // first. The offer's own announcements go where the joiner does not listen; once the joiner has
      // tried the dead address, the offer is announced from 127.0.0.1 where it hears it.
      const port = await freePort();
      await announceAs(deviceId, 'multi', '127.0.0.2', port);
      const { offer } = await codeOffer({ configDir: dir, deviceName: 'multi', discovery: { ...loopback, port: aside }, port });
      const joinDir = deviceDir('code-multi-join');
      const lines: string[] = [];
      const joining = joinWithCode(offer.code!, { configDir: joinDir, outDir: joinDir, device: 'multi', discovery: loopback, discoveryTimeoutMs: 5000, dialTimeoutMs: 1000, log: (l) => lines.push(l) });
      for (let i = 0; i < 200 && !lines.join('\n').includes(`127.0.0.2:${port}`); i++) await new Promise((resolve) => setTimeout(resolve, 25));
      await announceAs(deviceId, 'multi', '127.0.0.1', port);
      const joined = await joining;
      expect(joined.address).toBe('127.0.0.1');
      expect(joined.peer.deviceId).toBe(deviceId);
      expect(lines.join('\n')).toContain(`127.0.0.2:${offer.port}`);
      expect(offer.failures()).toBe(0);
      await offer.result;
    });

    it('an impostor announcing the same device first gets one wrong guess, and the join pairs with the real offer', async () => {
      const dir = deviceDir('code-twin');
      const { deviceId } = await loadDeviceIdentity(dir, 'twin');
      // Another offer under the same device id and name (a copied identity), with another code: the
      // only one the joiner hears at first. The real offer announces where the joiner does not listen,
      // until the joiner has tried the impostor; then it is announced where the joiner hears it.
      const impostor = await codeOffer({ configDir: dir, deviceName: 'twin', discovery: loopback });
      const { offer } = await codeOffer({ configDir: dir, deviceName: 'twin', discovery: { ...loopback, port: aside } });
      const joinDir = deviceDir('code-twin-join');
      const joining = joinWithCode(offer.code!, { configDir: joinDir, outDir: joinDir, device: 'twin', discovery: loopback, discoveryTimeoutMs: 5000 });
      for (let i = 0; i < 200 && impostor.offer.failures() === 0; i++) await new Promise((resolve) => setTimeout(resolve, 25));
      expect(impostor.offer.failures()).toBe(1);
      await announceAs(deviceId, 'twin', '127.0.0.1', offer.port);
      const joined = await joining;
      expect(joined.peer.name).toBe('twin');
      await offer.result;
      expect(offer.failures()).toBe(0);
      // One wrong guess at the impostor, no more.
      expect(impostor.offer.failures()).toBe(1);
    });

    it('ports made up from one address do not crowd the real offer out of the join', async () => {
      const dir = deviceDir('code-crowd');
      const { deviceId } = await loadDeviceIdentity(dir, 'crowd');
      // Eight announcements of the device (its id and name are public) from 127.0.0.2, each for a
      // dead port, heard first: with a cap on the total alone they filled the join's list.
      const dead = await Promise.all(Array.from({ length: 8 }, () => freePort()));
      await Promise.all(dead.map(async (port) => {
        const announcer = await startAnnouncer({ ...loopback, interfaceAddress: '127.0.0.2', announcement: { deviceId, port, name: 'crowd', code: true } });
        cleanups.push(() => announcer.stop());
      }));
      await new Promise((resolve) => setTimeout(resolve, 300));
      const { offer } = await codeOffer({ configDir: dir, deviceName: 'crowd', discovery: { ...loopback, port: aside } });
      const joinDir = deviceDir('code-crowd-join');
      const lines: string[] = [];
      const joining = joinWithCode(offer.code!, { configDir: joinDir, outDir: joinDir, device: 'crowd', discovery: loopback, discoveryTimeoutMs: 5000, dialTimeoutMs: 1000, log: (l) => lines.push(l) });
      for (let i = 0; i < 200 && !lines.join('\n').includes('127.0.0.2:'); i++) await new Promise((resolve) => setTimeout(resolve, 25));
      await announceAs(deviceId, 'crowd', '127.0.0.1', offer.port);
      const joined = await joining;
      expect(joined.address).toBe('127.0.0.1');
      // Two of the made-up ports were dialled, no more.
      expect(new Set(lines.join('\n').match(/127\.0\.0\.2:\d+/g)).size).toBe(2);
      await offer.result;
    });

    it('a wrong code costs the offer one attempt, not one per address it announces', async () => {
      const dir = deviceDir('code-typo');
      const { deviceId } = await loadDeviceIdentity(dir, 'typo');
      // On every address (dual stack), so 127.0.0.1 and 127.0.0.2 both reach the same listener.
      const { offer } = await codeOffer({ configDir: dir, deviceName: 'typo', discovery: loopback, host: undefined, maxFailures: 5 });
      await announceAs(deviceId, 'typo', '127.0.0.2', offer.port);
      const lines: string[] = [];
      const code = await codeOf(joinWithCode(wrongCode(offer.code!), { configDir: deviceDir('code-typo-join'), device: 'typo', discovery: loopback, discoveryTimeoutMs: 5000, log: (l) => lines.push(l) }));
      expect(code).toBe('lan_wrong_code');
      expect(offer.failures()).toBe(1);
      expect(lines.join('\n')).toContain('same listener that refused the code');
    });
  });

  it('refuses a code joiner that asks to be trusted under another key than the one it proved the code with', async () => {
    const { offer, dir } = await codeOffer();
    const device = await loadDeviceIdentity(deviceDir('code-liar'), 'liar');
    const socket = tls.connect({ host: '127.0.0.1', port: offer.port, rejectUnauthorized: false, key: device.keyPem, cert: device.certPem });
    await new Promise((resolve) => socket.once('secureConnect', resolve));
    const channel = new FramedChannel(socket);
    await proveCodeAsJoiner(channel, socket, parsePairingCode(offer.code!), device.spkiSha256, 5000);
    await channel.expect('welcome', 5000);
    // Another device of its own, whose key it holds and proves (`key-proof.ts`): only the code's binding gives it away.
    const other = await loadDeviceIdentity(deviceDir('code-liar-other'), 'liar');
    const exchanged = exchange(channel, other, [], { outDir: deviceDir('code-liar-out'), maxPayloadBytes: 1000, timeoutMs: 5000, proveKey: { role: 'join', binding: channelBinding(socket) } });
    expect(await codeOf(offer.result)).toBe('lan_protocol_error');
    await codeOf(exchanged);
    expect(new TrustedPeerStore(dir).list()).toHaveLength(0);
    socket.destroy();
  });

  it('tells a code joiner that an offer without --code takes none, and counts it', async () => {
    const { offer, logs } = await loopbackOffer({ handshakeTimeoutMs: 5000 });
    offers.push(offer);
    const code = await codeOf(joinWithCode('1234-5678', { configDir: deviceDir('code-noncode'), address: '127.0.0.1', port: offer.port }));
    expect(code).toBe('lan_protocol_error');
    expect(offer.failures()).toBe(1);
    expect(logs.join('\n')).toContain('this offer takes none');
  });

  describe('the joiner checks the offer too', () => {
    /** A hand-rolled offer running SRP with `code`; `bind` decides what it sends as its binding MAC. */
    async function fakeOffer(code: string, bind: 'right' | 'wrong'): Promise<number> {
      const identity = await createTlsIdentity('fake offer', 600);
      const server = tls.createServer({ key: identity.keyPem, cert: identity.certPem, requestCert: true, rejectUnauthorized: false }, (socket) => {
        const channel = new FramedChannel(socket);
        void (async () => {
          await channel.expect('code-hello', 5000);
          const salt = randomBytes(16);
          const srp = new SrpServer(SRP.params.hap, salt, Buffer.from('pairgate-lan-code'), Buffer.from(code), randomBytes(32));
          channel.send({ t: 'srp-start', salt: salt.toString('base64url'), B: srp.computeB().toString('base64url') });
          const proof = await channel.expect('srp-proof', 5000);
          srp.setA(Buffer.from(String(proof.A), 'base64url'));
          // An impostor does not check M1 (it cannot know whether its guess was right before the joiner does).
          const mac = bind === 'right'
            ? bindingMac(srp.computeK(), 'offer', socket, { offerSpki: identity.spkiSha256, joinSpki: peerPin(socket)! })
            : randomBytes(32);
          channel.send({ t: 'srp-verify', M2: srp.computeM2().toString('base64url'), bind: mac.toString('base64url') });
          channel.send({ t: 'welcome' });
        })().catch(() => socket.destroy());
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      cleanups.push(() => new Promise<void>((resolve) => { server.close(() => resolve()); }));
      return (server.address() as net.AddressInfo).port;
    }

    it('an impostor that does not know the code fails M2: lan_wrong_code', async () => {
      const port = await fakeOffer('11112222', 'right');
      expect(await codeOf(joinWithCode('3333-4444', { configDir: deviceDir('code-imp'), address: '127.0.0.1', port }))).toBe('lan_wrong_code');
    });

    it('an offer that knows the code but sends a MAC for another channel: lan_channel_binding_mismatch', async () => {
      const port = await fakeOffer('33334444', 'wrong');
      expect(await codeOf(joinWithCode('3333-4444', { configDir: deviceDir('code-bind'), address: '127.0.0.1', port }))).toBe('lan_channel_binding_mismatch');
    });
  });
});
