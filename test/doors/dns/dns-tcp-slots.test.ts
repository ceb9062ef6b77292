import net from 'node:net';
import dnsPacket from 'dns-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { startDnsServer, type RunningDnsServer } from '../../../src/doors/dns/dns-server.js';

const servers: RunningDnsServer[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** Answers every query with an empty NOERROR, as the real handler's shape does. */
const handler = async (message: Buffer) => {
  const query = dnsPacket.decode(message);
  return dnsPacket.encode({ id: query.id, type: 'response', flags: dnsPacket.AUTHORITATIVE_ANSWER, questions: query.questions });
};

const frame = (id: number) => {
  const query = dnsPacket.encode({ id, type: 'query', questions: [{ type: 'A', name: 'x.example' }] });
  return Buffer.concat([Buffer.from([query.length >> 8, query.length & 255]), query]);
};

/** A TCP connection from `localAddress` that sends one query and waits for its answer; false when closed first. */
async function connectAndAsk(port: number, localAddress: string): Promise<{ socket: net.Socket; answered: boolean }> {
  const socket = net.connect({ host: '127.0.0.1', port, localAddress });
  sockets.push(socket);
  socket.on('error', () => undefined);
  const answered = await new Promise<boolean>((resolve) => {
    socket.once('connect', () => socket.write(frame(1)));
    socket.once('data', () => resolve(true));
    socket.once('close', () => resolve(false));
  });
  return { socket, answered };
}

/**
 * A server of `count` connections, each held (asked and answered) by a network of its own,
 * 127.0.0.<first> onwards.
 */
async function fullOfSingles(first: number, count: number): Promise<{ server: RunningDnsServer; held: net.Socket[] }> {
  const server = await startDnsServer({ host: '127.0.0.1', port: 0, handler, maxTcpConnections: count, maxTcpPerAddress: 1, tcpIdleMs: 60_000 });
  servers.push(server);
  const held: net.Socket[] = [];
  for (let i = first; i < first + count; i++) {
    const connection = await connectAndAsk(server.port, `127.0.0.${i}`);
    expect(connection.answered).toBe(true);
    held.push(connection.socket);
  }
  return { server, held };
}

describe('DNS over TCP: every connection taken', () => {
  it('a newcomer from another network gets the place of the oldest connection of the network holding the most, and is answered', async () => {
    // 16 connections in all, 2 per network: eight networks (here 127.0.0.10-17) fill them all.
    const server = await startDnsServer({ host: '127.0.0.1', port: 0, handler, maxTcpConnections: 16, tcpIdleMs: 60_000 });
    servers.push(server);
    const held: net.Socket[] = [];
    for (let i = 10; i < 18; i++) {
      for (let j = 0; j < 2; j++) {
        const connection = await connectAndAsk(server.port, `127.0.0.${i}`);
        expect(connection.answered).toBe(true);
        held.push(connection.socket);
      }
    }
    // Before, it was closed unanswered for as long as the eight kept theirs busy.
    const newcomer = await connectAndAsk(server.port, '127.0.0.40');
    expect(newcomer.answered).toBe(true);
    // One of the eight networks' (each holds as many) oldest made way; the rest are still served.
    const closed = await Promise.all(held.map((socket) => new Promise<boolean>((resolve) => {
      if (socket.destroyed || socket.readableEnded) return resolve(true);
      socket.once('close', () => resolve(true));
      setTimeout(() => resolve(false), 300);
    })));
    expect(closed.filter(Boolean)).toHaveLength(1);
    expect(closed.findIndex(Boolean) % 2).toBe(0);
  });

  it('a network already holding as many as the largest is refused, not let in at the others\' expense', async () => {
    const server = await startDnsServer({ host: '127.0.0.1', port: 0, handler, maxTcpConnections: 4, maxTcpPerAddress: 2, tcpIdleMs: 60_000 });
    servers.push(server);
    for (const address of ['127.0.0.20', '127.0.0.20', '127.0.0.21', '127.0.0.22']) expect((await connectAndAsk(server.port, address)).answered).toBe(true);
    // 127.0.0.21 holds 1, the largest (127.0.0.20) 2: taking one of its would leave them even, so no.
    expect((await connectAndAsk(server.port, '127.0.0.21')).answered).toBe(false);
    // A network holding none takes the place of 127.0.0.20's oldest.
    expect((await connectAndAsk(server.port, '127.0.0.23')).answered).toBe(true);
  });

  it('as many networks as connections, one each (an IPv6 /56 is 256 /64s): a newcomer takes the place of the one silent the longest', async () => {
    const { server, held } = await fullOfSingles(50, 8);
    // All but the first keep talking; the first has been silent the longest.
    await new Promise((resolve) => setTimeout(resolve, 30));
    for (const socket of held.slice(1)) socket.write(frame(2));
    await new Promise((resolve) => setTimeout(resolve, 30));
    // Before, it was closed unanswered on every try for as long as the eight held theirs.
    const newcomer = await connectAndAsk(server.port, '127.0.0.60');
    expect(newcomer.answered).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(held.map((socket) => socket.destroyed || socket.readableEnded)).toEqual([true, false, false, false, false, false, false, false]);
    // A network already holding one is not let in at another's expense.
    expect((await connectAndAsk(server.port, '127.0.0.51')).answered).toBe(false);
  });

  it('a holder trickling a frame\'s bytes (one of a length prefix now and then) is the one silent the longest, not busy', async () => {
    const { server, held } = await fullOfSingles(80, 4);
    // The first keeps a frame partly sent, byte by byte; the others ask whole queries after it.
    held[0]!.write(Buffer.from([0]));
    await new Promise((resolve) => setTimeout(resolve, 20));
    for (const socket of held.slice(1)) socket.write(frame(3));
    await new Promise((resolve) => setTimeout(resolve, 30));
    const newcomer = await connectAndAsk(server.port, '127.0.0.90');
    expect(newcomer.answered).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(held.map((socket) => socket.destroyed || socket.readableEnded)).toEqual([true, false, false, false]);
  });
});

describe('DNS over TCP: queries per source network per second', () => {
  /** Sends `count` queries at once on one connection from `localAddress`; resolves with the socket and a counter of answers. */
  async function pipeline(port: number, localAddress: string, count: number): Promise<{ answers: () => number; all: Promise<void> }> {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress });
    sockets.push(socket);
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('connect', resolve));
    let received = Buffer.alloc(0);
    let answers = 0;
    let done: () => void = () => undefined;
    const all = new Promise<void>((resolve) => (done = resolve));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      while (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
        received = received.subarray(2 + received.readUInt16BE(0));
        if (++answers === count) done();
      }
    });
    socket.write(Buffer.concat(Array.from({ length: count }, (_, i) => frame(i + 1))));
    return { answers: () => answers, all };
  }

  it('one source past its rate waits for the next second, nothing dropped; another source is answered meanwhile', async () => {
    const server = await startDnsServer({ host: '127.0.0.1', port: 0, handler, tcpPerSecond: 20, tcpIdleMs: 60_000 });
    servers.push(server);
    const flood = await pipeline(server.port, '127.0.0.70', 60);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Within 300 ms at most two seconds' worth (the count may start near a second's end).
    expect(flood.answers()).toBeGreaterThan(0);
    expect(flood.answers()).toBeLessThanOrEqual(40);
    // Another network is not held up by the first one's budget.
    const other = await pipeline(server.port, '127.0.0.71', 5);
    await other.all;
    expect(flood.answers()).toBeLessThan(60);
    // Every query of the flood is answered in the end.
    await flood.all;
    expect(flood.answers()).toBe(60);
  }, 10_000);
});

