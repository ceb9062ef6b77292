import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { DEFAULT_GROUP, MAX_NEARBY_DEVICES, MAX_NEARBY_PER_ADDRESS, encodeAnnouncement } from '../../../src/doors/lan/discovery.js';
import { runDoctor } from '../../../src/doors/lan/doctor.js';
import { freePort } from '../../helpers/ports.js';

/**
 * The doctor's multicast check lists the other devices it hears. Plain announcements cost nothing
 * to make up (any id, any name, as fast as the link carries them): each one heard was kept, so a
 * flood during the wait grew the report (memory, the `--json` output, what the support agent
 * sends) without bound, and a real device announcing every 250 ms was listed once per packet.
 * Now each device is listed once, at most MAX_NEARBY_DEVICES of them and MAX_NEARBY_PER_ADDRESS
 * per address, as `lan nearby` keeps them.
 */
describe('lan doctor: a flood of made-up plain announcements', () => {
  it('keeps the devices heard bounded, each listed once', async () => {
    const port = await freePort();
    const flooders: dgram.Socket[] = [];
    for (let host = 2; host < 42; host++) {
      const socket = dgram.createSocket('udp4');
      await new Promise<void>((resolve) => socket.bind(0, `127.0.0.${host}`, resolve));
      // To the group, as a device on the network sends them: every socket that joined it hears them.
      socket.setMulticastInterface('127.0.0.1');
      flooders.push(socket);
    }
    const steady = randomBytes(16).toString('base64url');
    let stop = false;
    const flood = (async () => {
      for (let round = 0; !stop && round < 2000; round++) {
        for (const socket of flooders) {
          socket.send(encodeAnnouncement({ deviceId: randomBytes(16).toString('base64url'), port: 1000 + (round % 60000), name: `fake ${round}` }, randomBytes(8)), port, DEFAULT_GROUP);
        }
        // One device announcing again and again: one entry.
        flooders[0]!.send(encodeAnnouncement({ deviceId: steady, port: 4242, name: 'steady' }, randomBytes(8)), port, DEFAULT_GROUP);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    try {
      const report = await runDoctor({ discovery: { interfaceAddress: '127.0.0.1', port }, multicastWaitMs: 1500 });
      const multicast = report.checks.find((check) => check.name === 'multicast')!;
      const details = multicast.details as { othersHeard: { address: string; deviceId: string }[]; othersDropped?: number };
      expect(details.othersHeard.length).toBeGreaterThan(0);
      expect(details.othersHeard.length).toBeLessThanOrEqual(MAX_NEARBY_DEVICES);
      const perAddress = new Map<string, number>();
      for (const heard of details.othersHeard) perAddress.set(heard.address, (perAddress.get(heard.address) ?? 0) + 1);
      expect(Math.max(...perAddress.values())).toBeLessThanOrEqual(MAX_NEARBY_PER_ADDRESS);
      const keys = details.othersHeard.map((heard) => `${heard.deviceId}@${heard.address}`);
      expect(new Set(keys).size).toBe(keys.length);
      expect(details.othersDropped).toBeGreaterThan(0);
    } finally {
      stop = true;
      await flood;
      for (const socket of flooders) socket.close();
    }
  }, 60_000);
});
