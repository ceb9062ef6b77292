import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import dnsPacket from 'dns-packet';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startDnsServer, type RunningDnsServer } from '../../../src/doors/dns/dns-server.js';

// The wall clock stepped back (NTP correcting a clock that ran ahead): only `Date` is faked, which
// is what a step changes; timers, sockets and `performance.now()` run on as they do.
const HOUR_MS = 3_600_000;

const servers: RunningDnsServer[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** Answers every query with an empty NOERROR. */
const handler = async (message: Buffer) => {
  const query = dnsPacket.decode(message);
  return dnsPacket.encode({ id: query.id, type: 'response', flags: dnsPacket.AUTHORITATIVE_ANSWER, questions: query.questions });
};

const query = (id: number) => dnsPacket.encode({ id, type: 'query', questions: [{ type: 'A', name: 'x.example' }] });
const frame = (id: number) => {
  const message = query(id);
  return Buffer.concat([Buffer.from([message.length >> 8, message.length & 255]), message]);
};

/** Sends one query on `socket` and waits for its answer; false when the connection closes first. */
function ask(socket: net.Socket, id: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const done = (answered: boolean) => {
      socket.off('data', onData);
      socket.off('close', onClose);
      resolve(answered);
    };
    const onData = () => done(true);
    const onClose = () => done(false);
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.write(frame(id));
  });
}

/** A TCP connection from `localAddress` (a network of its own) that has asked once and been answered. */
async function answeredConnection(port: number, localAddress: string): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port, localAddress });
  sockets.push(socket);
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  expect(await ask(socket, 1)).toBe(true);
  return socket;
}

describe('the DNS server when the wall clock is stepped back an hour', () => {
  it('closes the connection silent the longest for a newcomer, not one active since the step', async () => {
    const server = await startDnsServer({ host: '127.0.0.1', port: 0, handler, maxTcpConnections: 2, maxTcpPerAddress: 1, tcpIdleMs: 60_000 });
    servers.push(server);
    const silent = await answeredConnection(server.port, '127.0.0.20');
    await sleep(200);
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() - HOUR_MS });
    const active = await answeredConnection(server.port, '127.0.0.21');
    const newcomer = await answeredConnection(server.port, '127.0.0.22');
    expect(newcomer.destroyed).toBe(false);
    await vi.waitFor(() => expect(silent.closed).toBe(true), { timeout: 2_000 });
    expect(await ask(active, 2)).toBe(true);
  });

  it('keeps a network\'s UDP budget of the second spent: the next query gets the truncated answer', async () => {
    const server = await startDnsServer({ host: '127.0.0.1', port: 0, handler, udpPerSecond: 1 });
    servers.push(server);
    const client = createSocket('udp4');
    await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
    /** Whether the answer to query `id` is the bare truncated one (TC set). */
    const truncated = async (id: number): Promise<boolean> => {
      const received = once(client, 'message') as Promise<[Buffer]>;
      client.send(query(id), server.port, '127.0.0.1');
      return ((await received)[0].readUInt16BE(2) & 0x0200) !== 0;
    };
    try {
      // Both queries within one second of elapsed time: start just after one begins.
      await sleep(1_000 - (performance.now() % 1_000) + 20);
      expect(await truncated(1)).toBe(false);
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() - HOUR_MS });
      expect(await truncated(2)).toBe(true);
    } finally {
      client.close();
    }
  });
});
