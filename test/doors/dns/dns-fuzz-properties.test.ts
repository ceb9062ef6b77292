import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect } from 'node:net';
import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DnsRuntime } from '../../../src/doors/dns/dns-door.js';
import type { TestApp } from '../../helpers/app.js';
import { createDnsApp, resolverFor, ZONE } from './dns-helpers.js';

/**
 * Property-based fuzzing of the DNS door's listeners, UDP and TCP, with fast-check: random bytes,
 * queries built with dns-packet and then truncated, overwritten, given huge section counts,
 * compression pointers into the header, onto themselves and forward, labels of the reserved
 * kinds and names past 255 bytes; over TCP, frames whose length prefix lies (longer or shorter
 * than what follows), split anywhere. A DNS server answers what it can read the header of
 * (FORMERR for what it cannot parse, an answer otherwise, never SERVFAIL for the client's bytes),
 * stays silent for what is no query, never crashes, never logs a failure of its own, and answers a
 * valid query correctly afterwards. dns-fuzz.test.ts holds the first, coarser sweep.
 */

/** The seed of every property: a failure found is found again (`FUZZ_SEED=<n>` explores another). */
const SEED = Number(process.env.FUZZ_SEED ?? 20_251_206);

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
const QTYPES = ['A', 'AAAA', 'TXT', 'CNAME', 'SOA', 'NS', 'ANY', 'MX', 'AXFR', 'IXFR', 'PTR', 'SRV', 'CAA', 'HTTPS', 'OPT', 'DS', 'RRSIG'] as const;

/** A query as dns-packet builds it: a name in or out of the zone, any type and class, EDNS or not. */
const validQuery = fc.record({
  id: fc.integer({ min: 0, max: 0xffff }),
  name: fc.oneof(
    fc.constantFrom(ZONE, `ns1.${ZONE}`, `local.${'a'.repeat(52)}.${ZONE}`, `x.${ZONE}`, 'example.com', '.', `${'b'.repeat(63)}.${ZONE}`, `*.${ZONE}`, ZONE.toUpperCase()),
    fc.array(fc.stringMatching(/^[a-z0-9-]{1,20}$/), { minLength: 1, maxLength: 4 }).map((labels) => `${labels.join('.')}.${ZONE}`),
  ),
  type: fc.oneof(fc.constantFrom(...QTYPES), fc.integer({ min: 0, max: 0xffff }).map((n) => `UNKNOWN_${n}`)),
  class: fc.constantFrom('IN', 'CH', 'HS', 'ANY', 'UNKNOWN_0', 'UNKNOWN_65535'),
  opcode: fc.constantFrom(0, 0, 0, 1, 2, 4, 5, 15),
  edns: fc.option(fc.record({ udpPayloadSize: fc.constantFrom(0, 1, 511, 512, 1232, 4096, 65535), ednsVersion: fc.constantFrom(0, 0, 1, 255) }), { nil: undefined }),
}).map((q): Buffer => {
  const wire = dnsPacket.encode({
    id: q.id,
    type: 'query',
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: q.type as 'A', class: q.class as 'IN', name: q.name }],
    additionals: q.edns ? [{ type: 'OPT', name: '.', udpPayloadSize: q.edns.udpPayloadSize, ednsVersion: q.edns.ednsVersion, flags: 0 } as never] : [],
  });
  wire.writeUInt16BE((wire.readUInt16BE(2) & ~0x7800) | (q.opcode << 11), 2);
  return wire;
});

/** One change to a valid query. */
const mutation = fc.oneof(
  // Cut anywhere.
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  // Bytes overwritten.
  fc.record({ kind: fc.constant('overwrite' as const), edits: fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 6 }) }),
  // A section count of up to 65,535 entries that are not there.
  fc.record({ kind: fc.constant('count' as const), section: fc.integer({ min: 0, max: 3 }), count: fc.constantFrom(0, 2, 255, 0x7fff, 0xffff) }),
  // The question's name replaced by a pointer: to the header, onto itself, forward, past the end,
  // or a chain of pointers each to the one before.
  fc.record({ kind: fc.constant('pointer' as const), target: fc.constantFrom<number>(0, 2, 11, 12, 13, 14, 100, 0x3fff), chain: fc.integer({ min: 1, max: 40 }) }),
  // Labels of the reserved kinds (0x40, 0x80), of 63 bytes and more, and a name past 255 bytes.
  fc.record({ kind: fc.constant('label' as const), bytes: fc.constantFrom([0x40, 0x61], [0x80, 0x61], [0x3f], [0xff, 0xff], Array.from({ length: 300 }, (_, n) => (n % 10 === 0 ? 9 : 0x61))) }),
  // Garbage after the packet.
  fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  // The QR bit (a response: no answer) or the opcode.
  fc.record({ kind: fc.constant('flags' as const), flags: fc.integer({ min: 0, max: 0xffff }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

/** `query` changed by `change`. */
function mutate(query: Buffer, change: Mutation): Buffer {
  const out = Buffer.from(query);
  switch (change.kind) {
    case 'truncate':
      return out.subarray(0, change.at % (out.length + 1));
    case 'overwrite':
      if (out.length > 0) for (const [at, byte] of change.edits) out[at % out.length] = byte;
      return out;
    case 'count':
      // (A query cut short by an earlier mutation has no count to change.)
      if (out.length >= 12) out.writeUInt16BE(change.count, 4 + 2 * change.section);
      return out;
    case 'pointer': {
      // Pointers first, each to the one before it; the first to `target`; then type and class.
      const pointers = Buffer.alloc(2 * change.chain);
      for (let n = 0; n < change.chain; n++) pointers.writeUInt16BE(0xc000 | (n === 0 ? change.target : 12 + 2 * (n - 1)), 2 * n);
      return Buffer.concat([out.subarray(0, 12), pointers.subarray(2 * (change.chain - 1)), pointers.subarray(0, 2 * (change.chain - 1)), Buffer.from([0, 1, 0, 1])]);
    }
    case 'label':
      return Buffer.concat([out.subarray(0, 12), Buffer.from(change.bytes), out.subarray(12)]);
    case 'append':
      return Buffer.concat([out, Buffer.from(change.bytes)]);
    case 'flags':
      if (out.length >= 4) out.writeUInt16BE(change.flags, 2);
      return out;
  }
}

/** What is sent: random bytes, or a valid query with up to three mutations. */
const datagram = fc.oneof(
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 0, maxLength: 600 }).map((bytes) => Buffer.from(bytes)) },
  { weight: 4, arbitrary: fc.tuple(validQuery, fc.array(mutation, { minLength: 0, maxLength: 3 })).map(([query, changes]) => changes.reduce(mutate, query)) },
);

/** Whether `bytes` is a query the server must answer: a whole header, the QR bit clear. */
function isQuery(bytes: Buffer): boolean {
  return bytes.length >= 12 && (bytes[2]! & 0x80) === 0;
}

/**
 * What is wrong with `answer` to `query` over `transport`, or undefined: it echoes the id, is a
 * response, is a DNS message dns-packet can read (a bare header for FORMERR and NOTIMP), never
 * SERVFAIL (the client's bytes are never the server's failure), fits 512 bytes over UDP unless
 * EDNS allowed more.
 */
function problemWith(query: Buffer, answer: Buffer, transport: 'udp' | 'tcp'): string | undefined {
  if (answer.length < 12) return `an answer of ${answer.length} bytes`;
  if (answer.readUInt16BE(0) !== query.readUInt16BE(0)) return 'the id is not echoed';
  const flags = answer.readUInt16BE(2);
  if (!(flags & 0x8000)) return 'not a response';
  const rcode = flags & 0xf;
  if (![RCODE.NOERROR, RCODE.FORMERR, RCODE.NXDOMAIN, RCODE.NOTIMP, RCODE.REFUSED].includes(rcode as 0)) return `rcode ${rcode}`;
  if (transport === 'udp' && answer.length > 1232) return `a UDP answer of ${answer.length} bytes`;
  try {
    dnsPacket.decode(answer);
  } catch (error) {
    return `an answer dns-packet cannot read: ${(error as Error).message}`;
  }
  return undefined;
}

/** A UDP client: sends one datagram, resolves with the answer or undefined after `ms`. */
class UdpClient {
  private readonly socket: UdpSocket = createSocket('udp4');
  private waiting: ((answer: Buffer | undefined) => void) | undefined;

  constructor(private readonly port: number) {
    this.socket.on('message', (answer) => this.waiting?.(answer));
  }

  exchange(message: Buffer, ms: number): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(undefined), ms);
      const done = (answer: Buffer | undefined): void => {
        clearTimeout(timer);
        this.waiting = undefined;
        resolve(answer);
      };
      this.waiting = done;
      this.socket.send(message, this.port, '127.0.0.1');
    });
  }

  close(): void {
    this.socket.close();
  }
}

/**
 * Sends `chunks` on one TCP connection; resolves with every byte the server sent once it closed,
 * or once it sent nothing for `quietMs` (the connection is then closed from here).
 */
function tcpExchange(port: number, chunks: Buffer[], quietMs: number): Promise<{ received: Buffer; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    let closedByServer = true;
    let quiet: NodeJS.Timeout | undefined;
    const rearm = (): void => {
      clearTimeout(quiet);
      quiet = setTimeout(() => {
        closedByServer = false;
        socket.destroy();
      }, quietMs);
    };
    socket.on('data', (data: Buffer) => {
      received.push(data);
      rearm();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(quiet);
      resolve({ received: Buffer.concat(received), closedByServer });
    });
    socket.on('connect', () => {
      for (const chunk of chunks) if (!socket.destroyed) socket.write(chunk);
      rearm();
    });
  });
}

/** The frames of a TCP stream (a last partial one dropped: the test then reports it). */
function framesOf(stream: Buffer): { frames: Buffer[]; leftover: number } {
  const frames: Buffer[] = [];
  let at = 0;
  while (at + 2 <= stream.length && at + 2 + stream.readUInt16BE(at) <= stream.length) {
    frames.push(stream.subarray(at + 2, at + 2 + stream.readUInt16BE(at)));
    at += 2 + stream.readUInt16BE(at);
  }
  return { frames, leftover: stream.length - at };
}

describe('fuzzing the DNS door', () => {
  let t: TestApp;
  let runtime: DnsRuntime;
  beforeAll(async () => {
    ({ t, runtime } = await createDnsApp({ PAIRGATE_DNS_TCP_IDLE_SECONDS: '1', PAIRGATE_DNS_UDP_PER_SECOND: '0', PAIRGATE_DNS_TCP_PER_SECOND: '0' }));
  });
  afterAll(() => t?.close());

  /** Lines the server logged as a failure of its own: a handler that threw, a socket error. */
  const failuresLogged = () => t.logs.filter((line) => /"level":(40|50|60)/.test(line) && /dns/i.test(line));

  /** A valid query is answered correctly, over both transports. */
  async function stillAnswers(): Promise<void> {
    const resolver = resolverFor(runtime.dns.port);
    expect((await resolver.resolveSoa(ZONE)).nsname).toBe(`ns1.${ZONE}`);
    const tcp = await tcpExchange(runtime.dns.port, [dnsPacket.streamEncode({ type: 'query', id: 77, questions: [{ type: 'SOA', name: ZONE }] })], 2_000);
    const answer = dnsPacket.streamDecode(tcp.received);
    expect(answer.id).toBe(77);
    expect(answer.answers?.[0]).toMatchObject({ type: 'SOA', name: ZONE });
  }

  it('over UDP: an answer with the id echoed, FORMERR for what cannot be read, never SERVFAIL, nothing for what is no query', async () => {
    const client = new UdpClient(runtime.dns.port);
    const logged = failuresLogged().length;
    try {
      await fc.assert(
        fc.asyncProperty(datagram, async (bytes) => {
          // A query's answer is waited for generously (a loaded machine); silence, which can only
          // be seen as a timeout, briefly.
          const answer = await client.exchange(bytes, isQuery(bytes) ? 3_000 : 50);
          if (!isQuery(bytes)) {
            expect(answer).toBeUndefined();
            return;
          }
          expect(answer, 'a query gets an answer').toBeDefined();
          expect(problemWith(bytes, answer!, 'udp')).toBeUndefined();
          // What dns-packet cannot read is FORMERR, with no sections.
          let readable = true;
          try {
            dnsPacket.decode(bytes);
          } catch {
            readable = false;
          }
          if (!readable) expect({ rcode: answer!.readUInt16BE(2) & 0xf, length: answer!.length }).toEqual({ rcode: RCODE.FORMERR, length: 12 });
        }),
        { seed: SEED, numRuns: 400 },
      );
    } finally {
      client.close();
    }
    expect(failuresLogged().slice(logged)).toEqual([]);
    await stillAnswers();
  }, 60_000);

  it('answers a question compressed, or spelled with a pointer loop, with FORMERR', async () => {
    const client = new UdpClient(runtime.dns.port);
    try {
      const query = Buffer.from(dnsPacket.encode({ type: 'query', id: 9, questions: [{ type: 'A', name: `x.${ZONE}` }] }));
      for (const target of [0, 12, 14, 0x3fff]) {
        const answer = await client.exchange(mutate(query, { kind: 'pointer', target, chain: 3 }), 3_000);
        expect({ id: answer!.readUInt16BE(0), rcode: answer!.readUInt16BE(2) & 0xf }).toEqual({ id: 9, rcode: RCODE.FORMERR });
      }
    } finally {
      client.close();
    }
  });

  it('over TCP: frames whose length prefix lies, split anywhere, never crash it; what is answered is whole frames, each a well-formed answer', async () => {
    const logged = failuresLogged().length;
    const frame = fc.record({
      body: datagram,
      // The prefix as it should be, or lying: longer (the next frame's bytes taken in), shorter
      // (the rest read as a new prefix), zero (the connection ends), 65,535.
      lie: fc.constantFrom<number | 'zero' | 'max'>(0, 0, 0, 1, -1, 100, -5, 'zero', 'max'),
    }).map(({ body, lie }) => {
      const length = lie === 'zero' ? 0 : lie === 'max' ? 0xffff : Math.max(0, Math.min(0xffff, body.length + lie));
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16BE(length, 0);
      return { body, honest: lie === 0, wire: Buffer.concat([prefix, body]) };
    });
    await fc.assert(
      fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 4 }), async (frames, cuts) => {
        const stream = Buffer.concat(frames.map((f) => f.wire));
        const at = [...new Set(cuts.map((cut) => cut % (stream.length + 1)))].sort((a, b) => a - b);
        const chunks = [0, ...at].map((start, n) => stream.subarray(start, [...at, stream.length][n])).filter((chunk) => chunk.length > 0);
        const { received } = await tcpExchange(runtime.dns.port, chunks, 250);
        const { frames: answers, leftover } = framesOf(received);
        expect(leftover, 'answers are whole frames').toBe(0);
        // Where no prefix lied, every query is answered, in order, each well formed.
        if (frames.every((f) => f.honest && f.body.length > 0)) {
          const queries = frames.map((f) => f.body).filter(isQuery);
          expect(answers.length).toBe(queries.length);
          queries.forEach((query, n) => expect(problemWith(query, answers[n]!, 'tcp'), `answer ${n}`).toBeUndefined());
        }
        for (const answer of answers) expect(() => dnsPacket.decode(answer)).not.toThrow();
      }),
      { seed: SEED, numRuns: 60 },
    );
    expect(failuresLogged().slice(logged)).toEqual([]);
    await stillAnswers();
  }, 60_000);

  it('over TCP: a prefix promising more than ever comes holds the connection only until the frame deadline', async () => {
    const started = performance.now();
    const { received, closedByServer } = await tcpExchange(runtime.dns.port, [Buffer.from([0xff, 0xff]), Buffer.alloc(100, 0x41)], 5_000);
    expect(received.length).toBe(0);
    expect(closedByServer).toBe(true);
    expect(performance.now() - started).toBeLessThan(4_000);
    await stillAnswers();
  });
});
