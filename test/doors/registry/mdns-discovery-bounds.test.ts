import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';

/**
 * A discovery keeps what it hears until its timeout. Every instance name and address a host sent
 * was kept, so a host flooding answers grew its memory without bound; now at most
 * MAX_DISCOVERED_BOXES instances and MAX_ADDRESSES_PER_BOX addresses of each are kept, and
 * records of names no instance needs are not kept at all. multicast-dns is replaced by an emitter
 * that reports as it does (mdns-later-errors.test.ts).
 */

class FakeMdns extends EventEmitter {
  query(_query: unknown, callback?: (error: Error | null) => void): void {
    callback?.(null);
  }
  destroy(callback?: () => void): void {
    callback?.();
  }
}

let fake: FakeMdns;
vi.mock('multicast-dns', () => ({ default: () => (fake = new FakeMdns()) }));
const { discoverBoxes, MAX_ADDRESSES_PER_BOX, MAX_DISCOVERED_BOXES, PAIRGATE_SERVICE } = await import('../../../src/doors/registry/mdns.js');

const from = { address: '192.168.1.66', family: 'IPv4', port: 5353, size: 0 };

/** The records of one box's answer: `instance` on `host`, with `addresses`. */
function boxAnswer(n: number, host: string, addresses: string[]) {
  const instance = `flood-${n}.${PAIRGATE_SERVICE}`;
  return [
    { name: PAIRGATE_SERVICE, type: 'PTR', ttl: 120, data: instance },
    { name: instance, type: 'SRV', ttl: 120, data: { port: 4443, target: host, priority: 0, weight: 0 } },
    { name: instance, type: 'TXT', ttl: 120, data: [Buffer.from(`fp=${'f'.repeat(52)}`), Buffer.from(`name=Box ${n}`), Buffer.from(`x=${'y'.repeat(200)}`)] },
    ...addresses.map((data) => ({ name: host, type: 'A', ttl: 120, data })),
  ];
}

/** A discovery of the fake, started, with `flood` sent to it; resolves with what it found. */
async function discoverDuring(flood: () => void) {
  const found = discoverBoxes(50, { port: 5353, interface: '127.0.0.1' });
  fake.emit('networkInterface');
  fake.emit('ready');
  flood();
  return found;
}

describe('discoverBoxes keeps a bounded part of what it hears', () => {
  it(`keeps at most ${MAX_DISCOVERED_BOXES} boxes, the first heard, however many instances a host announces`, async () => {
    const boxes = await discoverDuring(() => {
      for (let n = 0; n < 2_000; n++) fake.emit('response', { type: 'response', answers: boxAnswer(n, `h${n}.local`, ['192.168.1.66']) }, from);
    });
    expect(boxes).toHaveLength(MAX_DISCOVERED_BOXES);
    expect(boxes[0]).toMatchObject({ name: 'Box 0', host: 'h0.local', addresses: ['192.168.1.66'] });
    expect(boxes.at(-1)).toMatchObject({ name: `Box ${MAX_DISCOVERED_BOXES - 1}` });
  });

  it(`keeps at most ${MAX_ADDRESSES_PER_BOX} addresses of a box`, async () => {
    const addresses = Array.from({ length: 5_000 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    const boxes = await discoverDuring(() => {
      fake.emit('response', { type: 'response', answers: boxAnswer(1, 'many.local', addresses) }, from);
    });
    expect(boxes).toHaveLength(1);
    expect(boxes[0]!.addresses).toEqual(addresses.slice(0, MAX_ADDRESSES_PER_BOX));
  });

  it('keeps no SRV, TXT or address of a name no instance points to; a box gone by goodbye makes room', async () => {
    const boxes = await discoverDuring(() => {
      // Instances said goodbye to (TTL 0) are dropped with what was heard of them.
      for (let n = 0; n < 2_000; n++) {
        const records = boxAnswer(n, `h${n}.local`, ['192.168.1.66']);
        fake.emit('response', { type: 'response', answers: records }, from);
        fake.emit('response', { type: 'response', answers: [{ ...records[0]!, ttl: 0 }] }, from);
      }
      // Records of names no PTR named.
      fake.emit('response', { type: 'response', answers: boxAnswer(9_999, 'stray.local', ['192.168.1.9']).slice(1) }, from);
      // A box answering after all that is found, with the address of its own host only.
      fake.emit('response', { type: 'response', answers: boxAnswer(7, 'late.local', ['192.168.1.7']) }, from);
    });
    expect(boxes.map((b) => [b.name, b.host, b.addresses])).toEqual([['Box 7', 'late.local', ['192.168.1.7']]]);
  });
});
