import { EventEmitter } from 'node:events';
import type { NetworkInterfaceInfo } from 'node:os';
import { afterEach, describe, expect, it, vi } from 'vitest';

/**
 * A box answers questions by multicast to its whole network, so anyone who could reach its UDP
 * port 5353 from elsewhere (a box with a public address and no firewall) made it multicast its
 * records at will. Only questions from the local link are answered now (RFC 6762 5.5 and 11): a
 * source inside the subnet of one of the machine's interfaces. multicast-dns is replaced by an
 * emitter that reports as it does (mdns-later-errors.test.ts), and the interfaces by a fixed list.
 */

class FakeMdns extends EventEmitter {
  /** The answers sent, in order. */
  readonly sends: unknown[] = [];
  respond(response: unknown, callback?: (error: Error | null) => void): void {
    this.sends.push(response);
    callback?.(null);
  }
  destroy(callback?: () => void): void {
    callback?.();
  }
}

let fake: FakeMdns;
vi.mock('multicast-dns', () => ({ default: () => (fake = new FakeMdns()) }));

const entry = (address: string, cidr: string, family: 'IPv4' | 'IPv6', internal = false) =>
  ({ address, cidr, family, internal, netmask: '', mac: '00:00:00:00:00:00', ...(family === 'IPv6' ? { scopeid: 0 } : {}) }) as NetworkInterfaceInfo;
/** The machine's interfaces as this test sets them. */
const interfaces: Record<string, NetworkInterfaceInfo[]> = {
  lo: [entry('127.0.0.1', '127.0.0.1/8', 'IPv4', true), entry('::1', '::1/128', 'IPv6', true)],
  eth0: [entry('192.168.1.10', '192.168.1.10/24', 'IPv4'), entry('2001:db8:5::10', '2001:db8:5::10/64', 'IPv6'), entry('fe80::10', 'fe80::10/64', 'IPv6')],
};
vi.mock('node:os', async (original) => ({ ...(await original<typeof import('node:os')>()), networkInterfaces: () => interfaces }));

const { advertiseBox } = await import('../../../src/doors/registry/mdns.js');

const box = { fingerprint: 'e'.repeat(52), port: 4443, name: 'Porch box', addresses: ['192.168.1.10'] };
const question = { type: 'query', questions: [{ name: '_pairgate._tcp.local', type: 'PTR' }] };

/** The time the advert reads (`performance.now`): moved on by `ask`. */
let now = 0;

/** Whether a question from `address`, a second after the one before, is answered. */
function answered(address: string): boolean {
  now += 1_000;
  const before = fake.sends.length;
  fake.emit('query', question, { address, family: address.includes(':') ? 'IPv6' : 'IPv4', port: 5353, size: 40 });
  return fake.sends.length > before;
}

/** Advertises `box` on the fake multicast-dns, its clock `now`, once it reports ready. */
async function readyAdvert(): Promise<ReturnType<typeof advertiseBox>> {
  vi.spyOn(performance, 'now').mockImplementation(() => now);
  const advert = advertiseBox(box, { port: 5353, interface: '192.168.1.10' });
  fake.emit('networkInterface');
  fake.emit('ready');
  await advert.ready;
  return advert;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('advertiseBox answers its own link only', () => {
  it('answers questions from its subnets, link-local and loopback included; not from elsewhere', async () => {
    const advert = await readyAdvert();
    try {
      // Off the link: a public address, another private subnet, another IPv6 prefix.
      expect(answered('203.0.113.7')).toBe(false);
      expect(answered('192.168.2.20')).toBe(false);
      expect(answered('10.0.0.5')).toBe(false);
      expect(answered('2001:db8:6::20')).toBe(false);
      // On it.
      expect(answered('192.168.1.77')).toBe(true);
      expect(answered('2001:db8:5::77')).toBe(true);
      expect(answered('fe80::77%eth0')).toBe(true);
      expect(answered('127.0.0.1')).toBe(true);
    } finally {
      await advert.stop();
    }
  });

  it('reads an interface that came up since, within seconds', async () => {
    const advert = await readyAdvert();
    try {
      expect(answered('172.16.4.9')).toBe(false);
      interfaces.wlan0 = [entry('172.16.4.2', '172.16.4.2/22', 'IPv4')];
      now += 5_000;
      expect(answered('172.16.4.9')).toBe(true);
    } finally {
      delete interfaces.wlan0;
      await advert.stop();
    }
  });
});
