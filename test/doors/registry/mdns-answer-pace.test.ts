import multicastDns from 'multicast-dns';
import { describe, expect, it } from 'vitest';
import { advertiseBox, discoverBoxes, PAIRGATE_SERVICE } from '../../../src/doors/registry/mdns.js';
import { freePort } from '../../helpers/ports.js';

/**
 * A box answers questions for `_pairgate._tcp` by multicast, which every host of the network
 * receives (and Wi-Fi sends at its slowest rate). It answered each question at once, so one host
 * asking in a loop (or anyone reaching its UDP port 5353) made it multicast its records as fast as
 * the questions came: RFC 6762 section 6 has a responder multicast a record at most once a second.
 * Real sockets, on a loopback mDNS "network" of the test's own port.
 */

const fingerprint = 'd'.repeat(52);
const box = { fingerprint, port: 4443, name: 'Hall box', addresses: ['127.0.0.1'] };

describe('mDNS answers at most once a second', () => {
  it('answers a burst of 40 questions with at most two multicasts of its records, one of them within a second', async () => {
    const port = await freePort();
    const advert = advertiseBox(box, { port, interface: '127.0.0.1' });
    await advert.ready;
    const asker = multicastDns({ port, interface: '127.0.0.1', bind: '0.0.0.0', multicast: true, loopback: true, reuseAddr: true });
    await new Promise<void>((resolve) => asker.once('ready', () => resolve()));
    // Past the announcement's second: the first question is answered at once.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const answers: number[] = [];
    asker.on('response', (response) => {
      if ((response.answers ?? []).some((a) => a.type === 'PTR' && a.name === PAIRGATE_SERVICE && a.ttl !== 0)) answers.push(performance.now());
    });
    try {
      const start = performance.now();
      for (let i = 0; i < 40; i++) asker.query({ questions: [{ name: PAIRGATE_SERVICE, type: 'PTR' }] });
      await new Promise((resolve) => setTimeout(resolve, 1_600));
      // Answered (the first question at once), then once more for the questions of that second.
      expect(answers.length).toBeGreaterThanOrEqual(1);
      expect(answers[0]! - start).toBeLessThan(500);
      expect(answers.length).toBeLessThanOrEqual(2);
      if (answers.length === 2) expect(answers[1]! - answers[0]!).toBeGreaterThanOrEqual(950);
    } finally {
      await advert.stop();
      await new Promise<void>((resolve) => asker.destroy(() => resolve()));
    }
  });

  it('a discovery right after the box starts still finds it within a second', async () => {
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
