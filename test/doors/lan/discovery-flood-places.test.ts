import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { findCodeOffer } from '../../../src/doors/lan/code-join.js';
import { encodeAnnouncement, MAX_NEARBY_DEVICES, MAX_NEARBY_PER_ADDRESS, scanNearby, startAnnouncer } from '../../../src/doors/lan/discovery.js';
import { AddressPlaces } from '../../../src/doors/lan/nearby-places.js';
import { freePort } from '../../helpers/ports.js';

/**
 * A host on the network floods made-up plain announcements from several source addresses, enough
 * of them to fill every place of the bounded list (256 places, 16 per address: 16 addresses do)
 * before the real device's first packet. The places are shared among addresses, so the real device,
 * announcing from its own, is still listed by `lan nearby` and found by `lan join --code --device`.
 * Real UDP sockets on loopback: the flood comes from 127.0.1.x, the real device from 127.0.0.1.
 */

const loopback = { interfaceAddress: '127.0.0.1', port: await freePort(), intervalMs: 100 };
const FLOOD_ADDRESSES = 40;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** One socket per source address, 127.0.1.2 onward. */
async function flooders(count: number): Promise<dgram.Socket[]> {
  const sockets: dgram.Socket[] = [];
  for (let host = 2; host < 2 + count; host++) {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, `127.0.1.${host}`, resolve));
    sockets.push(socket);
  }
  cleanups.push(() => { for (const socket of sockets) socket.close(); });
  return sockets;
}

/** Sends `perAddress` made-up code offers (fresh ids) from each socket, named `name`. */
async function flood(sockets: dgram.Socket[], perAddress: number, name: (i: number) => string): Promise<void> {
  for (let i = 0; i < perAddress; i++) {
    for (const socket of sockets) {
      socket.send(encodeAnnouncement({ deviceId: randomBytes(16).toString('base64url'), port: 1000 + i, name: name(i), code: true }, randomBytes(8)), loopback.port, '127.0.0.1');
    }
    // Paced, so the receiving socket's buffer drops none of it.
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('discovery under a flood of made-up devices from many addresses', () => {
  it('lan nearby: a flood that filled all 256 places first still leaves one for a real device announcing from its own address', async () => {
    const sockets = await flooders(FLOOD_ADDRESSES);
    const scanning = scanNearby({ ...loopback, durationMs: 1500 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    // 40 addresses x 20: over 256 before the real one speaks.
    await flood(sockets, MAX_NEARBY_PER_ADDRESS + 4, (i) => `fake ${i}`);
    const deviceId = randomBytes(16).toString('base64url');
    const real = await startAnnouncer({ ...loopback, announcement: { deviceId, port: 3333, name: 'printer', code: true } });
    cleanups.push(() => real.stop());
    // The flood goes on while the real device announces.
    await flood(sockets, 4, (i) => `late ${i}`);
    const devices = await scanning;
    expect(devices.length).toBe(MAX_NEARBY_DEVICES);
    const perAddress = new Map<string, number>();
    for (const d of devices) perAddress.set(d.address, (perAddress.get(d.address) ?? 0) + 1);
    expect(Math.max(...perAddress.values())).toBeLessThanOrEqual(MAX_NEARBY_PER_ADDRESS);
    expect(devices.filter((d) => d.deviceId === deviceId)).toMatchObject([{ name: 'printer', address: '127.0.0.1', port: 3333 }]);
  });

  it('lan join --code --device ID: fakes named after the id, filling every place first, neither push out nor stand in for the device', async () => {
    const sockets = await flooders(FLOOD_ADDRESSES);
    const deviceId = randomBytes(16).toString('base64url');
    const finding = findCodeOffer({ discovery: loopback, device: deviceId, timeoutMs: 5000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Each fake takes the real device's id as its name, which `--device` also matches.
    await flood(sockets, MAX_NEARBY_PER_ADDRESS + 4, () => deviceId);
    const real = await startAnnouncer({ ...loopback, announcement: { deviceId, port: 4444, name: 'attic', code: true } });
    cleanups.push(() => real.stop());
    const found = await finding;
    expect(found).toMatchObject({ deviceId, name: 'attic', address: '127.0.0.1', port: 4444 });
  });
});

describe('AddressPlaces', () => {
  it('a newcomer takes the newest place of the fullest address only while that one holds two more than it', () => {
    const places = new AddressPlaces<string>(4, 3);
    for (const key of ['a1', 'a2', 'a3']) expect(places.admit(key, 'A')).toEqual({ admitted: true });
    expect(places.admit('a4', 'A')).toEqual({ admitted: false });
    expect(places.admit('b1', 'B')).toEqual({ admitted: true });
    // Full: C (0) against A (3) takes A's newest; then D (0) against A (2) takes another.
    expect(places.admit('c1', 'C')).toEqual({ admitted: true, evicted: 'a3' });
    expect(places.admit('d1', 'D')).toEqual({ admitted: true, evicted: 'a2' });
    // Every address holds one: nobody's place is taken any more.
    expect(places.admit('e1', 'E')).toEqual({ admitted: false });
    expect(places.admit('b2', 'B')).toEqual({ admitted: false });
    // Except for the one device a join names.
    expect(places.admit('wanted', 'E', true)).toMatchObject({ admitted: true });
    expect(places.size).toBe(4);
    expect(places.has('wanted')).toBe(true);
  });
});
