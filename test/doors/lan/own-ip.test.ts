import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { join } from '../../../src/doors/lan/join.js';
import type { Offer } from '../../../src/doors/lan/offer.js';
import { callSelf, confirmAddresses, discoverOwnAddresses, startEchoListener } from '../../../src/doors/lan/own-ip.js';
import { deviceDir, loopbackOffer } from './lan-fixtures.js';

const offers: Offer[] = [];
afterEach(async () => {
  await Promise.all(offers.splice(0).map((o) => o.close()));
});

/** A port nothing listens on any more. */
async function deadPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('own-IP discovery confirms addresses on the pairing listener itself', () => {
  it('an address where the pairing port is unreachable is not confirmed, though an echo listener there answers', async () => {
    // The offer's port is bound to 127.0.0.1 only: on 127.0.0.2 it is unreachable, as behind a firewall rule.
    const { offer } = await loopbackOffer();
    offers.push(offer);
    const { confirmed, results } = await confirmAddresses(['127.0.0.1', '127.0.0.2'], offer.port, 1000);
    expect(confirmed).toEqual(['127.0.0.1']);
    expect(results.find((r) => r.address === '127.0.0.2')?.problem).toBeTruthy();
    // The old way (a separate echo listener on all addresses) would have confirmed both.
    const echo = await startEchoListener();
    try {
      expect((await confirmAddresses(['127.0.0.1', '127.0.0.2'], echo.port, 1000)).confirmed).toEqual(['127.0.0.1', '127.0.0.2']);
    } finally {
      await echo.close();
    }
    // Probes are not pairing attempts, and the port still pairs.
    expect(offer.failures()).toBe(0);
    expect((await join(offer.connectionString, { configDir: deviceDir('after-probe'), discovery: false })).peer.name).toBe('laptop');
  });

  it('another program on the port, or one that does not echo our nonce, does not confirm it', async () => {
    const parrot = net.createServer((socket) => socket.on('data', (d) => socket.end(d)));
    await new Promise<void>((resolve) => parrot.listen(0, '127.0.0.1', () => resolve()));
    try {
      expect(await callSelf('127.0.0.1', (parrot.address() as net.AddressInfo).port, 1000)).toBe('the answer did not carry our nonce');
    } finally {
      await new Promise<void>((resolve) => parrot.close(() => resolve()));
    }
  });

  it('with the pairing port unreachable, stages 1 and 2 confirm nothing and stage 3 (multicast) is left', async () => {
    const report = await discoverOwnAddresses({ listenerPort: await deadPort(), timeoutMs: 500 });
    expect(report.addresses).toEqual([]);
    expect(report.useDiscovery).toBe(true);
    expect(report.stages.map((s) => s.status)).toEqual(['fail', 'fail', 'ok']);
  });
});
