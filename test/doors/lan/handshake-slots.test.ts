import net from 'node:net';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeConnectionString } from '../../../src/doors/lan/connection-string.js';
import { listenForTrustedPeer } from '../../../src/doors/lan/connect.js';
import { runDoctor } from '../../../src/doors/lan/doctor.js';
import { FramedChannel } from '../../../src/doors/lan/frames.js';
import { join } from '../../../src/doors/lan/join.js';
import type { Offer } from '../../../src/doors/lan/offer.js';
import { dialPinned } from '../../../src/doors/lan/pinned-dial.js';
import { newNonce } from '../../../src/doors/lan/secret-proof.js';
import { reportCliError } from '../../../src/cli/output.js';
import { deviceDir, loopbackOffer } from './lan-fixtures.js';
import { freePort } from '../../helpers/ports.js';

/**
 * An attacker on the network against the offer's handshake slots (at most 8 joiners proving at
 * once): connections that complete TLS and then say nothing make no guess, so the failure limit
 * never stops them; they must not be able to keep the device that holds the string out.
 */

const offers: Offer[] = [];
const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  await Promise.all(offers.splice(0).map((o) => o.close()));
});

/** Keeps `count` silent TLS connections open to `port`, opening a new one whenever one is closed. */
function silentFlood(port: number, count: number): { stop(): void; opened(): number } {
  let stopped = false;
  let opened = 0;
  const sockets = new Set<tls.TLSSocket>();
  const open = () => {
    if (stopped) return;
    opened++;
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      sockets.delete(socket);
      // Straight back in, as an attacker would.
      setTimeout(open, 5);
    });
  };
  for (let i = 0; i < count; i++) open();
  return {
    opened: () => opened,
    stop: () => {
      stopped = true;
      for (const socket of sockets) socket.destroy();
    },
  };
}

/**
 * Opens `count` TCP connections from `from` that send the first bytes of a TLS record and then
 * nothing: each sits in the listener's TLS handshake. Resolves once all are connected.
 */
async function stalledHandshakes(port: number, from: string, count: number): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  await Promise.all(Array.from({ length: count }, () => new Promise<void>((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress: from }, () => {
      socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]));
      resolve();
    });
    socket.on('error', () => resolve());
    sockets.push(socket);
  })));
  cleanups.push(() => { for (const socket of sockets) socket.destroy(); });
  return sockets;
}

/** How many of `sockets` the other end still holds open. */
function openCount(sockets: net.Socket[]): number {
  return sockets.filter((s) => !s.destroyed && !s.readableEnded).length;
}

/**
 * How many of `sockets` the other end still holds open, once it had `ms` to act: polled until the
 * count is down to `atMost` or the time is up. A loaded machine may take longer than `ms` to accept
 * and cut hundreds of connections (the listener shares this process's event loop), so the count is
 * read again until the deadline rather than once; a limit that does not hold still never gets there.
 */
async function stillOpen(sockets: net.Socket[], ms: number, atMost = 0): Promise<number> {
  const deadline = Date.now() + Math.max(ms, 5_000);
  await new Promise((resolve) => setTimeout(resolve, Math.min(ms, 300)));
  while (openCount(sockets) > atMost && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  return openCount(sockets);
}

describe('lan offer: connections that never finish their TLS handshake', () => {
  it('one address holds at most 16 of them; the device holding the string still pairs', async () => {
    const made = await loopbackOffer({ maxFailures: 1 });
    offers.push(made.offer);
    const sockets = await stalledHandshakes(made.offer.port, '127.0.0.2', 60);
    expect(await stillOpen(sockets, 300, 16)).toBeLessThanOrEqual(16);
    const joined = await join(made.offer.connectionString, { configDir: deviceDir('beside-stalled'), discovery: false });
    expect(joined.peer.name).toBe('laptop');
    expect(made.offer.failures()).toBe(0);
  });

  it('many addresses together hold at most 128, the oldest making way, and the device holding the string still pairs', async () => {
    const made = await loopbackOffer({ maxFailures: 1 });
    offers.push(made.offer);
    const sockets: net.Socket[] = [];
    for (let i = 10; i < 30; i++) sockets.push(...await stalledHandshakes(made.offer.port, `127.0.0.${i}`, 10));
    expect(await stillOpen(sockets, 300, 128)).toBeLessThanOrEqual(128);
    // The first ones made way for the later ones.
    expect(await stillOpen(sockets.slice(0, 20), 0)).toBe(0);
    const joined = await join(made.offer.connectionString, { configDir: deviceDir('beside-many'), discovery: false });
    expect(joined.peer.name).toBe('laptop');
  });

  it('a stalled TLS handshake is cut at the handshake timeout, not held for minutes', async () => {
    const made = await loopbackOffer({ handshakeTimeoutMs: 500 });
    offers.push(made.offer);
    const sockets = await stalledHandshakes(made.offer.port, '127.0.0.3', 3);
    expect(await stillOpen(sockets, 1500)).toBe(0);
  });
});

describe('lan connect --listen: connections that never finish their TLS handshake', () => {
  it('one address holds at most 16, each is cut at the handshake timeout, and closing the listener drops the rest', async () => {
    const listener = await listenForTrustedPeer({ configDir: deviceDir('connect-listen'), host: '127.0.0.1', port: 0, handshakeTimeoutMs: 800 });
    cleanups.push(() => void listener.close());
    const sockets = await stalledHandshakes(listener.port, '127.0.0.4', 40);
    expect(await stillOpen(sockets, 300, 16)).toBeLessThanOrEqual(16);
    expect(await stillOpen(sockets, 1500)).toBe(0);
    const late = await stalledHandshakes(listener.port, '127.0.0.5', 2);
    const closing = Date.now();
    await listener.close();
    expect(Date.now() - closing).toBeLessThan(500);
    expect(await stillOpen(late, 50)).toBe(0);
  });
});

describe('pairgate doctor: its test listener', () => {
  it('finishes though someone on the network left a TLS handshake hanging on its test listener', async () => {
    // A free port, so the attacker knows where the test listener will be.
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    let stalled: net.Socket | undefined;
    const attack = setInterval(() => {
      if (stalled) return;
      const socket = net.connect({ port, host: '127.0.0.1' }, () => {
        stalled = socket;
        socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]));
      });
      socket.on('error', () => undefined);
    }, 20);
    cleanups.push(() => { clearInterval(attack); stalled?.destroy(); });
    const started = Date.now();
    const report = await runDoctor({ port, discovery: { interfaceAddress: '127.0.0.1', port: await freePort() }, multicastWaitMs: 200, checkTimeoutMs: 3000 });
    expect(stalled).toBeDefined();
    expect(report.checks.find((c) => c.name === 'listener')?.status).toBe('ok');
    expect(Date.now() - started).toBeLessThan(8000);
  }, 20_000);
});

describe('lan offer: handshake slots under a flood of silent connections', () => {
  it('a device holding the string still pairs while an attacker keeps every slot filled with silent connections', async () => {
    const made = await loopbackOffer({ maxFailures: 1, handshakeTimeoutMs: 3000 });
    offers.push(made.offer);
    const { port } = decodeConnectionString(made.offer.connectionString);
    const flood = silentFlood(port, 12);
    cleanups.push(() => flood.stop());
    const pending = async () => ((await (await fetch(`http://127.0.0.1:${port}/diagnostics?doctor=0`)).json()) as { pendingHandshakes: number }).pendingHandshakes;
    await expect.poll(pending).toBe(8);
    const joined = await join(made.offer.connectionString, { configDir: deviceDir('flooded'), discovery: false });
    expect(joined.peer.name).toBe('laptop');
    // Silent connections made no guess: none was counted.
    expect(made.offer.failures()).toBe(0);
  });
});

describe('lan offer: every place taken by devices mid-proof', () => {
  it('a newcomer is refused as busy (lan_offer_busy, exit 1), told to try again in a few seconds, not that the offer closed', async () => {
    const made = await loopbackOffer({ handshakeTimeoutMs: 5000 });
    offers.push(made.offer);
    const info = decodeConnectionString(made.offer.connectionString);
    // Eight joiners that sent their hello and got the challenge: each is mid-proof, none silent.
    const holders = await Promise.all(Array.from({ length: 8 }, async () => {
      const socket = await dialPinned('127.0.0.1', info.port, info.keySha256, 2000);
      cleanups.push(() => socket.destroy());
      const channel = new FramedChannel(socket);
      channel.send({ t: 'hello', v: 1, nonce: newNonce().toString('base64url') });
      await channel.expect('challenge', 2000);
      return channel;
    }));
    expect(holders).toHaveLength(8);
    const refused = await join(made.offer.connectionString, { configDir: deviceDir('busy'), discovery: false }).catch((error: unknown) => error);
    expect(refused).toMatchObject({
      code: 'lan_offer_busy',
      message: 'The other device is busy with other devices trying to pair with it (someone else on the network may be trying to pair with it too). Try again in a few seconds.',
    });
    // A condition that passes, not bad input: the CLI exits 1.
    const stderr = console.error;
    console.error = () => undefined;
    try {
      expect(reportCliError(refused)).toBe(1);
    } finally {
      console.error = stderr;
    }
    // Turned away before it said a word: no failed attempt, and the offer goes on.
    expect(made.offer.failures()).toBe(0);
  });
});
