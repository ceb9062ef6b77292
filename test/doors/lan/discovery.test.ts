import { createHmac, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DISCOVERY_MAGIC, MAX_ANNOUNCEMENT_SKEW_MS, MAX_PACKET_BYTES, checkAnnouncement, decodeAnnouncement, encodeAnnouncement, findPeer, scanNearby, startAnnouncer, watchPeer,
} from '../../../src/doors/lan/discovery.js';
import { discoveryKey } from '../../../src/doors/lan/secret-proof.js';
import { freePort } from '../../helpers/ports.js';

// Multicast stays on the loopback interface, on a port no other test file of the run holds.
const loopback = { interfaceAddress: '127.0.0.1', port: await freePort(), intervalMs: 100 };
const deviceId = randomBytes(16).toString('base64url');

describe('discovery packets', () => {
  const secret = randomBytes(32);
  const instance = randomBytes(8);
  const now = Date.now();
  const from = '10.0.0.2';
  const auth = { secret, sentAt: now, from };

  it('authenticated announcements decode only under the right secret', () => {
    const packet = encodeAnnouncement({ deviceId, port: 4242 }, instance, auth);
    expect(packet.readUInt32BE(0)).toBe(DISCOVERY_MAGIC);
    expect(decodeAnnouncement(packet, from, secret, now)).toMatchObject({ deviceId, port: 4242, address: from, authenticated: true, instanceId: instance.toString('hex') });
    expect(decodeAnnouncement(packet, from, secret, now)?.legacy).toBeUndefined();
    expect(decodeAnnouncement(packet, from, randomBytes(32), now)).toBeUndefined();
    expect(decodeAnnouncement(packet, from, undefined, now)).toBeUndefined();
  });

  it('an authenticated announcement is refused when old, from the future, or from another address than it names', () => {
    const packet = encodeAnnouncement({ deviceId, port: 4242 }, instance, auth);
    expect(checkAnnouncement(packet, from, secret, now + MAX_ANNOUNCEMENT_SKEW_MS)).toMatchObject({ ok: true });
    // The same bytes replayed later: stale.
    expect(checkAnnouncement(packet, from, secret, now + MAX_ANNOUNCEMENT_SKEW_MS + 1)).toEqual({ ok: false, reason: 'stale' });
    expect(checkAnnouncement(packet, from, secret, now - MAX_ANNOUNCEMENT_SKEW_MS - 1)).toEqual({ ok: false, reason: 'stale' });
    // The same bytes sent by another machine: wrong source.
    expect(checkAnnouncement(packet, '10.0.0.66', secret, now)).toEqual({ ok: false, reason: 'wrong_source' });
    // A dual-stack socket reporting the mapped form is the same address.
    expect(checkAnnouncement(packet, `::ffff:${from}`, secret, now)).toMatchObject({ ok: true });
    // Without the secret it says nothing more than "foreign".
    expect(checkAnnouncement(packet, '10.0.0.66', randomBytes(32), now + 3_600_000)).toEqual({ ok: false, reason: 'foreign' });
  });

  it('the first authenticated kind (older offers: no time, no address) is still read, and flagged', () => {
    const header = Buffer.alloc(13);
    header.writeUInt32BE(DISCOVERY_MAGIC, 0);
    header[4] = 1;
    instance.copy(header, 5);
    const unsigned = Buffer.concat([header, Buffer.from(JSON.stringify({ d: deviceId, p: 4242 }))]);
    const v1 = Buffer.concat([unsigned, createHmac('sha256', discoveryKey(secret)).update(unsigned).digest()]);
    expect(decodeAnnouncement(v1, '10.0.0.9', secret, now)).toMatchObject({ deviceId, port: 4242, authenticated: true, legacy: true });
    expect(decodeAnnouncement(v1, '10.0.0.9', randomBytes(32), now)).toBeUndefined();
  });

  it('joiner announcements (port 0) exist only in the authenticated kind and are never taken for an offer', () => {
    const joinPacket = encodeAnnouncement({ deviceId, port: 0, role: 'join' }, instance, { ...auth, from: '10.0.0.5' });
    expect(decodeAnnouncement(joinPacket, '10.0.0.5', secret, now)).toMatchObject({ role: 'join', port: 0 });
    const plainPortZero = encodeAnnouncement({ deviceId, port: 0, name: 'x' }, instance);
    expect(decodeAnnouncement(plainPortZero, '10.0.0.5')).toBeUndefined();
    const offerPortZero = encodeAnnouncement({ deviceId, port: 0 }, instance, { ...auth, from: '10.0.0.5' });
    expect(decodeAnnouncement(offerPortZero, '10.0.0.5', secret, now)).toBeUndefined();
  });

  it('any changed byte of an authenticated announcement makes it ignored', () => {
    const packet = encodeAnnouncement({ deviceId, port: 4242 }, instance, auth);
    fc.assert(fc.property(fc.nat({ max: packet.length - 1 }), fc.integer({ min: 1, max: 255 }), (index, flip) => {
      const tampered = Buffer.from(packet);
      tampered[index]! ^= flip;
      expect(decodeAnnouncement(tampered, from, secret, now)).toBeUndefined();
    }), { numRuns: 300 });
  });

  it('plain announcements carry a cleaned name; foreign, oversized and malformed packets are dropped', () => {
    const plain = encodeAnnouncement({ deviceId, port: 80, name: 'kitchen\u001b[31m' }, instance);
    // An escape sequence goes whole, not only its ESC (which left "[31m" in the name).
    expect(decodeAnnouncement(plain, '10.0.0.3')).toMatchObject({ name: 'kitchen', authenticated: false });
    // Bidirectional controls would show `lan nearby`'s line (address, id) in another order than it reads.
    const reordering = encodeAnnouncement({ deviceId, port: 80, name: 'attic\u202e\u2066\u200fcellar' }, instance);
    expect(decodeAnnouncement(reordering, '10.0.0.3')).toMatchObject({ name: 'attic   cellar' });
    const oversized = Buffer.concat([plain, Buffer.alloc(MAX_PACKET_BYTES)]);
    expect(decodeAnnouncement(oversized, '10.0.0.3')).toBeUndefined();
    const wrongMagic = Buffer.from(plain);
    wrongMagic.writeUInt32BE(0x12345678, 0);
    expect(decodeAnnouncement(wrongMagic, '10.0.0.3')).toBeUndefined();
    fc.assert(fc.property(fc.uint8Array({ maxLength: 700 }), (bytes) => {
      const packet = Buffer.from(bytes);
      if (packet.length >= 4) packet.writeUInt32BE(DISCOVERY_MAGIC, 0);
      // Never throws, whatever arrives.
      decodeAnnouncement(packet, '10.0.0.4', secret);
      decodeAnnouncement(packet, '10.0.0.4');
    }), { numRuns: 500 });
    expect(() => encodeAnnouncement({ deviceId, port: 1, name: 'x'.repeat(600) }, instance)).toThrow(RangeError);
  });
});

describe('discovery over real multicast on loopback', () => {
  it('finds the announcer holding the same secret and ignores one with another secret', async () => {
    const secret = randomBytes(32);
    const stranger = await startAnnouncer({ ...loopback, announcement: { deviceId, port: 1111 }, secret: randomBytes(32) });
    // Another joiner of the same string, announcing itself, is not an offer.
    const otherJoiner = await startAnnouncer({ ...loopback, announcement: { deviceId, port: 0, role: 'join' }, secret });
    try {
      expect(await findPeer({ ...loopback, secret, deviceId, timeoutMs: 600 })).toBeUndefined();
      await otherJoiner.stop();
      const real = await startAnnouncer({ ...loopback, announcement: { deviceId, port: 2222 }, secret });
      try {
        const started = performance.now();
        const found = await findPeer({ ...loopback, secret, deviceId, timeoutMs: 3000 });
        expect(found).toMatchObject({ deviceId, port: 2222, address: '127.0.0.1', authenticated: true });
        expect(performance.now() - started).toBeLessThan(3000);
        expect(real.sent()).toBeGreaterThan(0);
      } finally {
        await real.stop();
      }
    } finally {
      await stranger.stop();
    }
  });

  it('a replayed stale announcement and a fresh copy sent from another address are ignored', async () => {
    const secret = randomBytes(32);
    const offers: string[] = [];
    const watch = await watchPeer({ ...loopback, secret, deviceId, onOffer: (a) => offers.push(`${a.address}:${a.port}`) });
    // The real offer's packets, as anyone on the network hears them: one recorded two minutes ago,
    // one just now.
    const recorded = encodeAnnouncement({ deviceId, port: 5555 }, randomBytes(8), { secret, sentAt: Date.now() - 2 * MAX_ANNOUNCEMENT_SKEW_MS, from: '127.0.0.1' });
    const fresh = encodeAnnouncement({ deviceId, port: 5555 }, randomBytes(8), { secret, sentAt: Date.now(), from: '127.0.0.1' });
    const replayer = dgram.createSocket('udp4');
    const elsewhere = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => replayer.bind(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => elsewhere.bind(0, '127.0.0.2', resolve));
    try {
      for (let i = 0; i < 5; i++) {
        replayer.send(recorded, loopback.port, '127.0.0.1');
        elsewhere.send(fresh, loopback.port, '127.0.0.1');
        await new Promise((resolve) => setTimeout(resolve, 40));
      }
      await expect.poll(() => watch.refused(), { timeout: 2000 }).toEqual({ stale: 5, wrongSource: 5 });
      expect(offers).toEqual([]);
      // The same fresh bytes from the address they name are taken.
      replayer.send(fresh, loopback.port, '127.0.0.1');
      await expect.poll(() => offers, { timeout: 2000 }).toEqual(['127.0.0.1:5555']);
    } finally {
      replayer.close();
      elsewhere.close();
      await watch.stop();
    }
  });

  it('lan nearby stays bounded under a flood of made-up devices: 16 per address, 256 in all, and still lists a real one', async () => {
    const plain = await startAnnouncer({ ...loopback, announcement: { deviceId, port: 3333, name: 'printer' } });
    const flooders: dgram.Socket[] = [];
    let stop = false;
    const flood = async () => {
      for (let host = 2; host < 42; host++) {
        const socket = dgram.createSocket('udp4');
        await new Promise<void>((resolve) => socket.bind(0, `127.0.0.${host}`, resolve));
        flooders.push(socket);
      }
      for (let round = 0; round < 40 && !stop; round++) {
        for (const socket of flooders) {
          const fake = encodeAnnouncement({ deviceId: randomBytes(16).toString('base64url'), port: 1000 + round, name: `fake ${round}`, code: true }, randomBytes(8));
          socket.send(fake, loopback.port, '127.0.0.1');
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    try {
      const scanning = scanNearby({ ...loopback, durationMs: 1200 });
      await new Promise((resolve) => setTimeout(resolve, 200));
      await flood();
      const devices = await scanning;
      expect(devices.length).toBeLessThanOrEqual(256);
      const perAddress = new Map<string, number>();
      for (const d of devices) perAddress.set(d.address, (perAddress.get(d.address) ?? 0) + 1);
      expect(Math.max(...perAddress.values())).toBeLessThanOrEqual(16);
      expect(devices.some((d) => d.name === 'printer')).toBe(true);
    } finally {
      stop = true;
      for (const socket of flooders) socket.close();
      await plain.stop();
    }
  });

  it('lan nearby lists plain announcements only, and survives garbage on the port', async () => {
    const plain = await startAnnouncer({ ...loopback, announcement: { deviceId, port: 3333, name: 'printer' } });
    const secretOnly = await startAnnouncer({ ...loopback, announcement: { deviceId: randomBytes(16).toString('base64url'), port: 4444 }, secret: randomBytes(32) });
    const junk = dgram.createSocket('udp4');
    const spam = setInterval(() => junk.send(randomBytes(100), loopback.port, '127.0.0.1'), 50);
    try {
      const devices = await scanNearby({ ...loopback, durationMs: 600 });
      expect(devices.map((d) => [d.name, d.port])).toEqual([['printer', 3333]]);
    } finally {
      clearInterval(spam);
      junk.close();
      await plain.stop();
      await secretOnly.stop();
    }
  });
});
