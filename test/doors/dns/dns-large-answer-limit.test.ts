import type { Socket } from 'node:dgram';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DnsRuntime } from '../../../src/doors/dns/dns-door.js';
import { largeAnswerBlockOf } from '../../../src/doors/dns/large-answers.js';
import type { TestApp } from '../../helpers/app.js';
import { boundUdp, createDnsApp, newBox, nextSecond, updateClient, ZONE } from './dns-helpers.js';

/** What these tests read of a decoded answer (dns-packet decodes more than it types). */
interface Reply {
  id: number;
  rcode: string;
  flag_tc: boolean;
  questions: { name: string; type: string }[];
  answers: unknown[];
  additionals: { type: string }[];
}

const LARGE_PER_SECOND = 5;

/** A query with EDNS (1232 bytes), as an amplifier's spoofed one would be. */
const query = (id: number, name: string, type: dnsPacket.RecordType): Buffer =>
  dnsPacket.encode({ id, type: 'query', questions: [{ type, name }], additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0 } as dnsPacket.Answer] });

/** An answer as received, with the length of its query. */
interface Received {
  reply: Reply;
  sent: number;
  received: number;
}

/**
 * Sends `count` queries at once from `socket`; the answers are collected into the array returned
 * as they come (the caller waits). Each id is its query's own.
 */
function burst(socket: Socket, port: number, count: number, name: string, type: dnsPacket.RecordType, firstId: number): Received[] {
  const got: Received[] = [];
  const sizes = new Map<number, number>();
  socket.on('message', (message: Buffer) => {
    const reply = dnsPacket.decode(message) as unknown as Reply;
    if (sizes.has(reply.id)) got.push({ reply, sent: sizes.get(reply.id)!, received: message.length });
  });
  for (let i = 0; i < count; i++) {
    const wire = query(firstId + i, name, type);
    sizes.set(firstId + i, wire.length);
    socket.send(wire, port, '127.0.0.1');
  }
  return got;
}

/** One query over TCP (a length-prefixed frame), its answer decoded. */
function askTcp(port: number, name: string, type: dnsPacket.RecordType): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
        socket.destroy();
        resolve(dnsPacket.decode(received.subarray(2, 2 + received.readUInt16BE(0))) as unknown as Reply);
      }
    });
    socket.on('connect', () => socket.write(dnsPacket.streamEncode({ id: 9, type: 'query', questions: [{ type, name }] })));
  });
}

/**
 * A box's TXT values answer a 100-byte query with up to 1,232 bytes (here three of 200 bytes, about
 * 1,000: names go uncompressed): within PAIRGATE_DNS_UDP_PER_SECOND (200 per address), a spoofed
 * victim got about 250 KB a second of them. Answers over PAIRGATE_DNS_UDP_LARGE_ANSWER_BYTES are limited per /24 (IPv6 /56), far
 * lower; past it each such query gets its question back with TC and no records, never larger than
 * the query.
 */
describe('DNS over UDP: large answers are limited per source /24, then truncated', () => {
  let t: TestApp;
  let runtime: DnsRuntime;
  let big: string;
  let small: string;
  beforeAll(async () => {
    ({ t, runtime } = await createDnsApp({ PAIRGATE_DNS_UDP_LARGE_PER_SECOND: String(LARGE_PER_SECOND) }));
    const box = await newBox('amplifier');
    const base = `${box.fingerprint}.${ZONE}`;
    big = `big.${base}`;
    small = `local.${base}`;
    const api = updateClient(runtime, box);
    for (let i = 0; i < 3; i++) await api.set(big, 'TXT', `${String(i)}${'x'.repeat(200)}`);
    await api.set(small, 'A', '192.168.1.20');
  });
  afterAll(() => t.close());

  it(`a burst of large answers from one /24: ${LARGE_PER_SECOND} whole, the rest truncated to the question; small answers and another /24 unaffected`, async () => {
    const [first, neighbour, elsewhere] = await Promise.all([boundUdp('127.0.0.1'), boundUdp('127.0.0.2'), boundUdp('127.0.1.1')]);
    try {
      // All within one second of the limits' clock: the first source's burst answered first.
      await nextSecond();
      const large = burst(first, runtime.dns.port, 12, big, 'TXT', 100);
      await sleep(150);
      const fromNeighbour = burst(neighbour, runtime.dns.port, 3, big, 'TXT', 200);
      const fromElsewhere = burst(elsewhere, runtime.dns.port, 3, big, 'TXT', 300);
      const smallOnes = burst(first, runtime.dns.port, 20, small, 'A', 400);
      await sleep(300);

      // Every query answered (none dropped): the first five whole, over 512 bytes.
      expect(large).toHaveLength(12);
      const whole = large.filter((a) => !a.reply.flag_tc);
      const truncated = large.filter((a) => a.reply.flag_tc);
      expect(whole).toHaveLength(LARGE_PER_SECOND);
      for (const a of whole) {
        expect(a.received).toBeGreaterThan(800);
        expect(a.reply.answers).toHaveLength(3);
      }
      // The rest: the question, TC, an empty OPT (the query had EDNS), no records; never more
      // bytes than the query.
      expect(truncated).toHaveLength(12 - LARGE_PER_SECOND);
      for (const a of truncated) {
        expect(a.reply.questions).toEqual([expect.objectContaining({ name: big, type: 'TXT' })]);
        expect(a.reply.answers).toEqual([]);
        expect(a.reply.additionals.map((rr) => rr.type)).toEqual(['OPT']);
        expect(a.reply.rcode).toBe('NOERROR');
        expect(a.received).toBeLessThanOrEqual(a.sent);
      }
      // Another address of the same /24 shares the budget (spent); another /24 has its own.
      expect(fromNeighbour.map((a) => a.reply.flag_tc)).toEqual([true, true, true]);
      expect(fromElsewhere.map((a) => a.reply.flag_tc)).toEqual([false, false, false]);
      // Small answers are not counted toward it, nor limited by it.
      expect(smallOnes).toHaveLength(20);
      expect(smallOnes.every((a) => !a.reply.flag_tc && a.reply.answers.length === 1)).toBe(true);

      // TCP answers in full whatever the UDP counts (a spoofed source cannot open a connection).
      const overTcp = await askTcp(runtime.dns.port, big, 'TXT');
      expect(overTcp.flag_tc).toBe(false);
      expect(overTcp.answers).toHaveLength(3);

      // The next second, the budget is back.
      await nextSecond();
      const later = burst(first, runtime.dns.port, 1, big, 'TXT', 500);
      await sleep(300);
      expect(later.map((a) => a.reply.flag_tc)).toEqual([false]);
    } finally {
      for (const socket of [first, neighbour, elsewhere]) socket.close();
    }
  }, 20_000);

  it('counts an IPv4 address by its /24, an IPv6 address by its /56, an IPv4-mapped one as IPv4', () => {
    expect(largeAnswerBlockOf('192.0.2.77')).toBe('192.0.2.0/24');
    expect(largeAnswerBlockOf('::ffff:192.0.2.77')).toBe('192.0.2.0/24');
    expect(largeAnswerBlockOf('2001:db8:1:2ff:1234::1')).toBe('2001:db8:1:200::/56');
    expect(largeAnswerBlockOf('2001:db8:1:2aa::9')).toBe('2001:db8:1:200::/56');
    expect(largeAnswerBlockOf('fe80::1%eth0')).toBe('fe80::/56');
  });
});
