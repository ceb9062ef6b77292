import { createSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DnsRuntime } from '../../../src/doors/dns/dns-door.js';
import type { TestApp } from '../../helpers/app.js';
import { createDnsApp, nextSecond, resolverFor, ZONE } from './dns-helpers.js';

/** Sends one UDP datagram and waits up to `ms` for an answer (undefined when none comes). */
function udpExchange(port: number, message: Uint8Array, ms = 300): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      resolve(undefined);
    }, ms);
    socket.once('message', (answer) => {
      clearTimeout(timer);
      socket.close();
      resolve(answer);
    });
    socket.send(message, port, '127.0.0.1');
  });
}

const query = (name: string, type = 'A') => dnsPacket.encode({ type: 'query', id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: type as 'A', name }] });

describe('DNS server under malformed input', () => {
  let t: TestApp;
  let runtime: DnsRuntime;
  beforeAll(async () => {
    ({ t, runtime } = await createDnsApp({ PAIRGATE_DNS_TCP_IDLE_SECONDS: '1', PAIRGATE_DNS_UDP_PER_SECOND: '0' }));
  });
  afterAll(() => t.close());

  async function stillAnswers(): Promise<void> {
    const soa = await resolverFor(runtime.dns.port).resolveSoa(ZONE);
    expect(soa.nsname).toBe(`ns1.${ZONE}`);
  }

  it('random datagrams and mutated queries never crash it; a readable header gets FORMERR or an answer with its id', async () => {
    const valid = query(`local.${'a'.repeat(52)}.${ZONE}`);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ minLength: 0, maxLength: 600 }),
          // A valid query with random bytes overwritten: reaches deeper into the decoder.
          fc.array(fc.tuple(fc.nat(valid.length - 1), fc.nat(255)), { minLength: 1, maxLength: 8 }).map((edits) => {
            const copy = Buffer.from(valid);
            for (const [at, byte] of edits) copy[at] = byte;
            return new Uint8Array(copy);
          }),
        ),
        async (bytes) => {
          // Silence only for what is no query: too short, or a response. A query's answer is
          // waited for generously (a loaded machine can take more than a few ms); silence, which
          // can only be observed as a timeout, briefly.
          const isQuery = bytes.length >= 12 && (bytes[2]! & 0x80) === 0;
          const answer = await udpExchange(runtime.dns.port, bytes, isQuery ? 3_000 : 60);
          expect(answer !== undefined).toBe(isQuery);
          if (answer) {
            expect(answer.length).toBeGreaterThanOrEqual(12);
            expect(answer.readUInt16BE(0)).toBe(Buffer.from(bytes).readUInt16BE(0)); // the id is echoed
            expect(answer.readUInt16BE(2) & 0x8000).toBe(0x8000); // a response
          }
        },
      ),
      { numRuns: 200, interruptAfterTimeLimit: 10_000 },
    );
    await stillAnswers();
  }, 30_000);

  it('short query and too many questions: FORMERR; another opcode: NOTIMP; a response: no answer', async () => {
    const short = Buffer.alloc(12);
    short.writeUInt16BE(7, 0);
    short.writeUInt16BE(1, 4); // claims one question, has none
    const formerr = await udpExchange(runtime.dns.port, short);
    expect(formerr!.readUInt16BE(2) & 0xf).toBe(1);
    const two = dnsPacket.encode({ type: 'query', id: 8, questions: [{ type: 'A', name: `x.${ZONE}` }, { type: 'A', name: `y.${ZONE}` }] });
    expect((await udpExchange(runtime.dns.port, two))!.readUInt16BE(2) & 0xf).toBe(1);
    const notify = Buffer.from(query(`x.${ZONE}`));
    notify.writeUInt16BE((4 << 11) | 0x0100, 2); // opcode NOTIFY
    expect((await udpExchange(runtime.dns.port, notify))!.readUInt16BE(2) & 0xf).toBe(4);
    const response = Buffer.from(query(`x.${ZONE}`));
    response.writeUInt16BE(0x8000, 2);
    expect(await udpExchange(runtime.dns.port, response)).toBeUndefined();
  });

  it('TCP: random frames, truncated frames and zero-length frames end the connection without crashing; valid frames are answered in order', async () => {
    const send = (chunks: Buffer[], waitMs = 1500) =>
      new Promise<Buffer>((resolve) => {
        const socket = connect(runtime.dns.port, '127.0.0.1');
        const received: Buffer[] = [];
        socket.on('data', (d: Buffer) => received.push(d));
        socket.on('error', () => undefined);
        const timer = setTimeout(() => socket.destroy(), waitMs);
        socket.on('close', () => {
          clearTimeout(timer);
          resolve(Buffer.concat(received));
        });
        socket.on('connect', () => {
          for (const chunk of chunks) socket.write(chunk);
        });
      });
    const frame = (body: Buffer) => Buffer.concat([Buffer.from([body.length >> 8, body.length & 255]), body]);
    // Truncated: the prefix says 500 bytes, 10 come. The server waits, then the idle timeout closes it.
    const started = Date.now();
    expect((await send([Buffer.from([1, 244]), Buffer.alloc(10, 7)], 5000)).length).toBe(0);
    expect(Date.now() - started).toBeLessThan(4000);
    // Zero-length frame: closed at once.
    expect((await send([Buffer.from([0, 0])])).length).toBe(0);
    // Random garbage frames.
    for (let i = 0; i < 10; i++) {
      const garbage = Buffer.from(Array.from({ length: 1 + Math.floor(Math.random() * 300) }, () => Math.floor(Math.random() * 256)));
      await send([frame(garbage)], 100);
    }
    // Two valid queries in one write, split across the length prefix: both answered, in order.
    const both = Buffer.concat([frame(Buffer.from(query(`a.${ZONE}`))), frame(Buffer.from(query(ZONE, 'SOA')))]);
    const out = await send([both.subarray(0, 1), both.subarray(1, 30), both.subarray(30)]);
    const first = dnsPacket.streamDecode(out);
    const second = dnsPacket.streamDecode(out.subarray(2 + out.readUInt16BE(0)));
    expect((first.flags ?? 0) & 0xf).toBe(3); // NXDOMAIN
    expect(second.answers?.[0]?.type).toBe('SOA');
    await stillAnswers();
  }, 30_000);
});

describe('DNS over TCP against slow and greedy clients', () => {
  let t: TestApp;
  let runtime: DnsRuntime;
  beforeAll(async () => {
    // An eighth of 16: two connections per source address.
    ({ t, runtime } = await createDnsApp({ PAIRGATE_DNS_TCP_IDLE_SECONDS: '1', PAIRGATE_DNS_MAX_TCP_CONNECTIONS: '16' }));
  });
  afterAll(() => t.close());

  /** Connects from `localAddress`; resolves with the socket once connected, and whether the server hung up within `ms`. */
  function open(localAddress: string, ms: number): Promise<{ socket: Socket; closedWithin: Promise<boolean> }> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port: runtime.dns.port, host: '127.0.0.1', localAddress });
      socket.on('error', () => undefined);
      socket.once('connect', () => {
        const closedWithin = new Promise<boolean>((done) => {
          const timer = setTimeout(() => done(false), ms);
          socket.once('close', () => {
            clearTimeout(timer);
            done(true);
          });
        });
        resolve({ socket, closedWithin });
      });
      socket.once('error', reject);
    });
  }

  it('a frame trickling in a byte at a time is cut one idle time after its first byte', async () => {
    const { socket, closedWithin } = await open('127.0.0.1', 6_000);
    // A 60-byte frame, a byte every 200 ms: each byte restarts the idle timer, the frame would take 12 s.
    socket.write(Buffer.from([0, 60]));
    const trickle = setInterval(() => socket.writable && socket.write(Buffer.from([7])), 200);
    try {
      expect(await closedWithin).toBe(true);
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
  });

  it('one source address holds at most its share of the connections; another address still gets one', async () => {
    const first = await open('127.0.0.1', 500);
    const second = await open('127.0.0.1', 500);
    const third = await open('127.0.0.1', 500);
    const elsewhere = await open('127.0.0.2', 500);
    try {
      expect(await third.closedWithin).toBe(true);
      expect(await first.closedWithin).toBe(false);
      expect(await second.closedWithin).toBe(false);
      expect(await elsewhere.closedWithin).toBe(false);
    } finally {
      for (const { socket } of [first, second, third, elsewhere]) socket.destroy();
    }
  });
});

describe('DNS response rate limiting', () => {
  it('beyond the per-source UDP rate, half the queries get a truncated answer (retry over TCP) and half nothing; TCP still answers', async () => {
    const { t, runtime } = await createDnsApp({ PAIRGATE_DNS_UDP_PER_SECOND: '20' });
    try {
      const socket = createSocket('udp4');
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
      const answers: Buffer[] = [];
      socket.on('message', (m) => answers.push(m));
      // Aligned to the start of a window of the server's own clock (`performance.now()`, in this
      // process), so the burst falls in one: aligned to the wall clock's second, it fell across two
      // whenever the two clocks' fractions of a second differed by about the burst's duration.
      await nextSecond();
      for (let i = 0; i < 60; i++) socket.send(dnsPacket.encode({ type: 'query', id: i + 1, questions: [{ type: 'SOA', name: ZONE }] }), runtime.dns.port, '127.0.0.1');
      await new Promise((resolve) => setTimeout(resolve, 400));
      socket.close();
      const full = answers.filter((a) => !(a.readUInt16BE(2) & 0x0200));
      const truncated = answers.filter((a) => a.readUInt16BE(2) & 0x0200);
      expect(full.length).toBe(20);
      expect(truncated.length).toBe(20);
      // Each carries its question (a resolver matches the answer to its question by it) and
      // nothing more: no records, no longer than the query.
      for (const slip of truncated) {
        const decoded = dnsPacket.decode(slip);
        expect(decoded.questions).toEqual([{ type: 'SOA', name: ZONE, class: 'IN' }]);
        expect([decoded.answers, decoded.authorities, decoded.additionals].map((records) => records?.length ?? 0)).toEqual([0, 0, 0]);
        expect(slip.length).toBe(12 + ZONE.length + 2 + 4);
      }
      // A resolver that follows TC gets its answer over TCP.
      const tcp = await new Promise<Buffer>((resolve, reject) => {
        const conn = connect(runtime.dns.port, '127.0.0.1', () => conn.write(dnsPacket.streamEncode({ type: 'query', id: 99, questions: [{ type: 'SOA', name: ZONE }] })));
        conn.once('data', (d: Buffer) => {
          conn.destroy();
          resolve(d);
        });
        conn.once('error', reject);
      });
      expect(dnsPacket.streamDecode(tcp).answers?.[0]?.type).toBe('SOA');
    } finally {
      await t.close();
    }
  });
});
