import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DISCOVERY_MAGIC, MAX_PACKET_BYTES, decodeAnnouncement, encodeAnnouncement, findPeer, scanNearby, startAnnouncer,
} from '../../../src/doors/lan/discovery.js';

// Multicast stays on the loopback interface, on a port of its own per test file run.
const loopback = { interfaceAddress: '127.0.0.1', port: 40000 + (process.pid % 20000), intervalMs: 100 };
const deviceId = randomBytes(16).toString('base64url');

describe('discovery packets', () => {
  const secret = randomBytes(32);
  const instance = randomBytes(8);

  it('authenticated announcements decode only under the right secret', () => {
    const packet = encodeAnnouncement({ deviceId, port: 4242 }, instance, secret);
    expect(packet.readUInt32BE(0)).toBe(DISCOVERY_MAGIC);
    expect(decodeAnnouncement(packet, '10.0.0.2', secret)).toMatchObject({ deviceId, port: 4242, address: '10.0.0.2', authenticated: true, instanceId: instance.toString('hex') });
    expect(decodeAnnouncement(packet, '10.0.0.2', randomBytes(32))).toBeUndefined();
    expect(decodeAnnouncement(packet, '10.0.0.2')).toBeUndefined();
  });

  it('joiner announcements (port 0) exist only in the authenticated kind and are never taken for an offer', () => {
    const joinPacket = encodeAnnouncement({ deviceId, port: 0, role: 'join' }, instance, secret);
    expect(decodeAnnouncement(joinPacket, '10.0.0.5', secret)).toMatchObject({ role: 'join', port: 0 });
    const plainPortZero = encodeAnnouncement({ deviceId, port: 0, name: 'x' }, instance);
    expect(decodeAnnouncement(plainPortZero, '10.0.0.5')).toBeUndefined();
    const offerPortZero = encodeAnnouncement({ deviceId, port: 0 }, instance, secret);
    expect(decodeAnnouncement(offerPortZero, '10.0.0.5', secret)).toBeUndefined();
  });

  it('any changed byte of an authenticated announcement makes it ignored', () => {
    const packet = encodeAnnouncement({ deviceId, port: 4242 }, instance, secret);
    fc.assert(fc.property(fc.nat({ max: packet.length - 1 }), fc.integer({ min: 1, max: 255 }), (index, flip) => {
      const tampered = Buffer.from(packet);
      tampered[index]! ^= flip;
      expect(decodeAnnouncement(tampered, '10.0.0.2', secret)).toBeUndefined();
    }), { numRuns: 300 });
  });

  it('plain announcements carry a cleaned name; foreign, oversized and malformed packets are dropped', () => {
    const plain = encodeAnnouncement({ deviceId, port: 80, name: 'kitchen\u001b[31m' }, instance);
    expect(decodeAnnouncement(plain, '10.0.0.3')).toMatchObject({ name: 'kitchen [31m', authenticated: false });
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
