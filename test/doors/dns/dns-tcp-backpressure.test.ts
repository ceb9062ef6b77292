import { connect, type Socket } from 'node:net';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DnsRuntime } from '../../../src/doors/dns/dns-door.js';
import type { TestApp } from '../../helpers/app.js';
import { createDnsApp, newBox, updateClient, ZONE } from './dns-helpers.js';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/**
 * RFC 7766 lets a client pipeline queries on one TCP connection. The server must answer every one
 * of a long pipeline, yet hold only a bounded amount per connection: it reads the next queries
 * only as its answers leave, so a client that sends and never reads cannot make it queue answers.
 */
describe('DNS over TCP: pipelined queries and clients that do not read', () => {
  let t: TestApp;
  let runtime: DnsRuntime;
  let name: string;
  beforeAll(async () => {
    // No per-second TCP budget: this is about the pipeline's memory, not its pace.
    ({ t, runtime } = await createDnsApp({ PAIRGATE_DNS_TCP_IDLE_SECONDS: '3', PAIRGATE_DNS_TCP_PER_SECOND: '0' }));
    const box = await newBox('big');
    name = `t.${box.fingerprint}.${ZONE}`;
    const api = updateClient(runtime, box);
    // Eight 255-byte TXT values: a query of ~90 bytes asks for a ~2.8 KiB answer.
    for (let i = 0; i < 8; i++) await api.set(name, 'TXT', `${i}`.repeat(255));
  });
  afterAll(() => t.close());

  it('answers every query of a long pipeline sent in one write (several reads of 64 KiB)', async () => {
    const count = 5000;
    const burst = Buffer.concat(Array.from({ length: count }, (_, i) => dnsPacket.streamEncode({ type: 'query', id: i, questions: [{ type: 'SOA', name: ZONE }] })));
    const socket = await open(runtime.dns.port);
    socket.on('error', () => undefined);
    let received = Buffer.alloc(0);
    let answers = 0;
    const done = new Promise<void>((resolve) => {
      socket.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        while (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
          const answer = dnsPacket.decode(received.subarray(2, 2 + received.readUInt16BE(0)));
          expect(answer.id).toBe(answers); // in order
          answers++;
          received = received.subarray(2 + received.readUInt16BE(0));
        }
        if (answers === count) resolve();
      });
      socket.on('close', () => resolve());
    });
    socket.write(burst);
    await done;
    socket.destroy();
    expect(answers).toBe(count);
  }, 20_000);

  it('a zero-length frame after pipelined queries: their answers are sent, then the connection is closed; nothing after it is answered', async () => {
    const asked = [
      { id: 1, type: 'SOA' as const, name: ZONE },
      { id: 2, type: 'TXT' as const, name },
      { id: 3, type: 'A' as const, name: `missing.${ZONE}` },
    ];
    const after = { id: 4, type: 'SOA' as const, name: ZONE };
    const wire = Buffer.concat([
      ...asked.map(({ id, type, name: qname }) => dnsPacket.streamEncode({ type: 'query', id, questions: [{ type, name: qname }] })),
      Buffer.from([0, 0]), // a zero-length frame: no DNS message
      dnsPacket.streamEncode({ type: 'query', id: after.id, questions: [{ type: after.type, name: after.name }] }),
    ]);
    const socket = await open(runtime.dns.port);
    const chunks: Buffer[] = [];
    const closed = new Promise<{ endedByServer: boolean; error?: string }>((resolve) => {
      let finished = false;
      let error: string | undefined;
      // Only so a server that never closes fails the test instead of hanging it.
      const giveUp = setTimeout(() => socket.destroy(), 6_000);
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('end', () => (finished = true));
      socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
      socket.on('close', () => {
        clearTimeout(giveUp);
        resolve({ endedByServer: finished, ...(error ? { error } : {}) });
      });
    });
    socket.write(wire); // one write: all queries, the bad frame and the query after it
    // Closed by the server with a FIN after its answers, not reset, not left open.
    expect(await closed).toEqual({ endedByServer: true });
    let received = Buffer.concat(chunks);
    const answers: dnsPacket.Packet[] = [];
    while (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
      answers.push(dnsPacket.decode(received.subarray(2, 2 + received.readUInt16BE(0))));
      received = received.subarray(2 + received.readUInt16BE(0));
    }
    expect(received.length, 'answers are whole frames').toBe(0);
    expect(answers.map((answer) => ({ id: answer.id, question: answer.questions?.[0]?.name, type: answer.questions?.[0]?.type }))).toEqual(
      asked.map(({ id, type, name: qname }) => ({ id, question: qname, type })),
    );
    expect(answers[0]!.answers?.[0]?.type).toBe('SOA');
    expect(answers[1]!.answers).toHaveLength(8); // the eight TXT values
    expect((answers[2]!.flags ?? 0) & 0xf).toBe(3); // NXDOMAIN
  });

  it('stops reading from a client that does not read its answers, so its memory does not grow with what that client sends', async () => {
    const query = dnsPacket.streamEncode({ type: 'query', id: 1, questions: [{ type: 'TXT', name }] });
    const piece = Buffer.concat(Array.from({ length: 100 }, () => query));
    const pieces = 250; // 25,000 queries, ~2.3 MB, asking for ~70 MB of answers
    const socket = await open(runtime.dns.port);
    socket.on('error', () => undefined);
    socket.pause(); // never read an answer
    const before = process.memoryUsage().arrayBuffers;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers)), 20);
    try {
      for (let i = 0; i < pieces; i++) {
        socket.write(piece);
        await pause(2);
      }
      await pause(1000);
      peak = Math.max(peak, process.memoryUsage().arrayBuffers);
      // The server held nowhere near the ~70 MB of answers those queries ask for (the kernel's
      // socket buffers may take all the client sent; the client's own pieces are a few MB).
      expect(peak - before).toBeLessThan(24 * 1024 * 1024);
    } finally {
      clearInterval(sampler);
      socket.destroy();
    }
  }, 20_000);
});
