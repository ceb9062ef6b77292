import type { Socket } from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DnsRuntime } from '../../../src/doors/dns/dns-door.js';
import type { TestApp } from '../../helpers/app.js';
import { boundUdp, createDnsApp, nextSecond, ZONE } from './dns-helpers.js';

const PER_BLOCK = 20;

/** The answers `socket` receives, decoded, from the time of the call. */
function answersTo(socket: Socket): ReturnType<typeof dnsPacket.decode>[] {
  const got: ReturnType<typeof dnsPacket.decode>[] = [];
  socket.on('message', (message: Buffer) => got.push(dnsPacket.decode(message)));
  return got;
}

/**
 * PAIRGATE_DNS_UDP_PER_SECOND counts per address: a spoofer spreading small queries over the 256
 * addresses of a victim's /24 had 256 budgets of answers to aim at it. All UDP answers are also
 * counted per /24 (IPv6 /56); past that budget, as past the per-address one, every second query
 * gets its question back with TC and the rest nothing.
 */
describe('DNS over UDP: all answers limited per source /24 as well as per address', () => {
  let t: TestApp;
  let runtime: DnsRuntime;
  beforeAll(async () => {
    ({ t, runtime } = await createDnsApp({ PAIRGATE_DNS_UDP_PER_BLOCK_PER_SECOND: String(PER_BLOCK) }));
  });
  afterAll(() => t.close());

  it(`ten addresses of one /24, four small queries each: ${PER_BLOCK} answered, then every second one a slip; another /24 answered in full`, async () => {
    const spread = await Promise.all(Array.from({ length: 10 }, (_, i) => boundUdp(`127.0.0.${String(i + 2)}`)));
    const elsewhere = await boundUdp('127.0.1.2');
    try {
      const received = spread.map(answersTo);
      const receivedElsewhere = answersTo(elsewhere);
      await nextSecond();
      let id = 1;
      for (let round = 0; round < 4; round++) {
        for (const socket of spread) socket.send(dnsPacket.encode({ type: 'query', id: id++, questions: [{ type: 'SOA', name: ZONE }] }), runtime.dns.port, '127.0.0.1');
      }
      for (let i = 0; i < 3; i++) elsewhere.send(dnsPacket.encode({ type: 'query', id: 100 + i, questions: [{ type: 'SOA', name: ZONE }] }), runtime.dns.port, '127.0.0.1');
      await sleep(400);

      const all = received.flat();
      const whole = all.filter((answer) => !answer.flag_tc);
      const slips = all.filter((answer) => answer.flag_tc);
      // Each address stayed far under its own 200: only the block's budget held them back.
      expect(whole).toHaveLength(PER_BLOCK);
      expect(slips).toHaveLength((40 - PER_BLOCK) / 2);
      for (const slip of slips) {
        expect(slip.questions).toEqual([{ type: 'SOA', name: ZONE, class: 'IN' }]);
        expect(slip.answers).toEqual([]);
      }
      expect(receivedElsewhere.map((answer) => answer.flag_tc)).toEqual([false, false, false]);

      // The next second, the block's budget is back.
      await nextSecond();
      spread[0]!.send(dnsPacket.encode({ type: 'query', id: 500, questions: [{ type: 'SOA', name: ZONE }] }), runtime.dns.port, '127.0.0.1');
      await sleep(300);
      expect(received[0]!.find((answer) => answer.id === 500)?.flag_tc).toBe(false);
    } finally {
      for (const socket of [...spread, elsewhere]) socket.close();
    }
  }, 20_000);
});
