import multicastDns from 'multicast-dns';
import { describe, expect, it } from 'vitest';
import { advertiseBox, discoverBoxes, PAIRGATE_SERVICE } from '../../../src/doors/registry/mdns.js';
import { freePort } from '../../helpers/ports.js';

/**
 * A box that stops advertising says goodbye (RFC 6762 10.1): its records once more with TTL 0, so
 * that whoever heard it drops it now. Without it, a stopped box stayed listed by every listener
 * until its records' 120 s ran out, and a discovery under way still returned it. Real sockets, on
 * a loopback mDNS "network" of the test's own port.
 */

const fingerprint = 'c'.repeat(52);

/** A record as heard: what the test reads of it. */
interface Heard { type: string; name: string; ttl?: number }
const box = { fingerprint, port: 4443, name: 'Attic box', addresses: ['127.0.0.1'] };

describe('mDNS goodbye when a box stops advertising', () => {
  it('sends the PTR, SRV, TXT and A records again with TTL 0 as it stops', async () => {
    const port = await freePort();
    const listener = multicastDns({ port, interface: '127.0.0.1', bind: '0.0.0.0', multicast: true, loopback: true, reuseAddr: true });
    const heard: Heard[][] = [];
    listener.on('response', (response) => heard.push((response.answers ?? []) as Heard[]));
    await new Promise<void>((resolve) => listener.once('ready', () => resolve()));
    try {
      const advert = advertiseBox(box, { port, interface: '127.0.0.1' });
      await advert.ready;
      // The announcement at start, with the records' lifetime.
      await expect.poll(() => heard.some((answers) => answers.some((a) => a.type === 'PTR' && a.ttl === 120)), { timeout: 5_000 }).toBe(true);
      await advert.stop();
      await expect.poll(() => heard.find((answers) => answers.some((a) => a.type === 'PTR' && a.ttl === 0)), { timeout: 5_000 }).toBeDefined();
      const goodbye = heard.find((answers) => answers.some((a) => a.type === 'PTR' && a.ttl === 0))!;
      expect(goodbye.map((a) => [a.type, a.name, a.ttl]).sort()).toEqual([
        ['A', `pairgate-${fingerprint.slice(0, 16)}.local`, 0],
        ['PTR', PAIRGATE_SERVICE, 0],
        ['SRV', `pairgate-${fingerprint.slice(0, 16)}.${PAIRGATE_SERVICE}`, 0],
        ['TXT', `pairgate-${fingerprint.slice(0, 16)}.${PAIRGATE_SERVICE}`, 0],
      ]);
    } finally {
      await new Promise<void>((resolve) => listener.destroy(() => resolve()));
    }
  });

  it('a discovery under way that hears the goodbye does not return the box', async () => {
    const port = await freePort();
    const advert = advertiseBox(box, { port, interface: '127.0.0.1' });
    await advert.ready;
    const found = discoverBoxes(1_500, { port, interface: '127.0.0.1' });
    // Heard first (the answer to the discovery's first question), then gone.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await advert.stop();
    expect((await found).map((b) => b.fingerprint)).not.toContain(fingerprint);
  });

  it('a discovery that hears the box and no goodbye returns it (the test above is not vacuous)', async () => {
    const port = await freePort();
    const advert = advertiseBox(box, { port, interface: '127.0.0.1' });
    await advert.ready;
    try {
      expect((await discoverBoxes(1_000, { port, interface: '127.0.0.1' })).map((b) => b.fingerprint)).toContain(fingerprint);
    } finally {
      await advert.stop();
    }
  });
});
