import { describe, expect, it } from 'vitest';
import { ipv6BlockOfNetwork } from '../../../src/doors/registry/ipv6-block.js';
import { publicNetworkOf } from '../../../src/server/public-network.js';
import { httpFrom, type HttpAnswer } from '../../helpers/http-from.js';
import { announceFrom as announce, listedFor as listed, newBoxes } from './announce-helpers.js';
import { storeSetups } from '../../helpers/services.js';
import { listeningNodes } from '../../helpers/setup-nodes.js';

/** Boxes per /64 and per /48 in these tests. */
const CAP = 4;
const CAP48 = 6;
/** Signed announcements per /48 per minute in these tests. */
const RATE48 = 30;

const ENV = {
  PAIRGATE_TRUST_PROXY: '127.0.0.1',
  PAIRGATE_REGISTRY_MAX_PER_IP: String(CAP),
  PAIRGATE_REGISTRY_MAX_PER_IPV6_48: String(CAP48),
  PAIRGATE_REGISTRY_REGISTER_PER_MINUTE_PER_IPV6_48: String(RATE48),
  PAIRGATE_REGISTRY_REGISTER_PER_MINUTE: '10000',
  PAIRGATE_REGISTRY_PING_PER_MINUTE: '10000',
  PAIRGATE_RATE_LIMIT_MAX: '100000',
};

/** An address in /64 number `n` of the /48 `2001:db8:<block>::/48` (a tunnel broker's /48 has 65,536). */
const addressIn = (block: string, n: number, host = 1): string => `2001:db8:${block}:${n.toString(16)}::${host.toString(16)}`;

function expectTooManyBoxes(answer: HttpAnswer): void {
  expect(answer.status, answer.text).toBe(429);
  expect(answer.json).toMatchObject({ code: 429, errno: 120, reason: 'too_many_boxes' });
  expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
}

describe('ipv6BlockOfNetwork', () => {
  it('is the /48 of an IPv6 public network, and nothing for IPv4 (mapped or not) or a caller that is no address', () => {
    expect(ipv6BlockOfNetwork(publicNetworkOf('2001:db8:1:2::9'))).toBe('2001:db8:1::/48');
    expect(ipv6BlockOfNetwork(publicNetworkOf('[2001:db8:1:ffff::9]:443'))).toBe('2001:db8:1::/48');
    expect(ipv6BlockOfNetwork(publicNetworkOf('203.0.113.9'))).toBeUndefined();
    expect(ipv6BlockOfNetwork(publicNetworkOf('::ffff:203.0.113.9'))).toBeUndefined();
    expect(ipv6BlockOfNetwork(publicNetworkOf('unknown'))).toBeUndefined();
    expect(ipv6BlockOfNetwork('nonsense/64')).toBeUndefined();
  });
});

const setups = await storeSetups();

/**
 * The second level of the registry's cap: boxes on all the /64s of one IPv6 /48 together. Without
 * it, one /48 (free from a tunnel broker) had 65,536 networks of PAIRGATE_REGISTRY_MAX_PER_IP boxes
 * each, and the ephemeral store's rows were bounded only by how fast signatures are checked.
 */
for (const setup of setups) describe.skipIf(Boolean(setup.skip))(`registry box cap per IPv6 /48, ${setup.name}${setup.skip ? ` (skipped: ${setup.skip})` : ''}`, () => {
  const { nodes, bases, baseFor } = listeningNodes(setup, ENV);

  /** The places of the /64 of `address` in the ephemeral store (node 0's view, shared by all). */
  async function networkPlaces(address: string): Promise<string[]> {
    const entries = await nodes[0]!.app.pairgate.stores.ephemeral.list(`registry-slot|${publicNetworkOf(address)}|`, Date.now());
    return entries.map((entry) => entry.value);
  }

  it('new boxes from many /64s of one /48 stop at the /48 cap; a refused box keeps no place on its /64', async () => {
    const boxes = await newBoxes(CAP48 + 4, 'many');
    const answers: HttpAnswer[] = [];
    for (const [i, box] of boxes.entries()) answers.push(await announce(baseFor(i), addressIn('a', i), box));
    expect(answers.slice(0, CAP48).map((a) => a.status)).toEqual(Array(CAP48).fill(200));
    for (const answer of answers.slice(CAP48)) {
      expectTooManyBoxes(answer);
      expect((answer.json as { message: string }).message).toContain('/48');
    }
    for (const [i, box] of boxes.entries()) {
      expect(await listed(baseFor(i + 1), addressIn('a', i, 7))).toEqual(i < CAP48 ? [box.fingerprint] : []);
      // The /64 place a refused box took was given back: it does not crowd out the /64's own boxes.
      expect(await networkPlaces(addressIn('a', i))).toEqual(i < CAP48 ? [box.fingerprint] : []);
    }
  });

  it('a full /48: its listed boxes keep renewing (from other addresses of their /64s) while new ones are refused', async () => {
    const held = await newBoxes(CAP48, 'held');
    for (const [i, box] of held.entries()) expect((await announce(baseFor(i), addressIn('b', i), box)).status).toBe(200);
    const newcomers = await newBoxes(4, 'late');
    // Newcomers both on the listed boxes' /64s and on /64s of their own, interleaved with renewals.
    const mixed = [...held.map((box, i) => ({ box, address: addressIn('b', i, 2) })), ...newcomers.map((box, i) => ({ box, address: addressIn('b', i % 2 ? 100 + i : i, 3) }))];
    const answers = await Promise.all(mixed.map(({ box, address }, i) => announce(baseFor(i), address, box)));
    expect(answers.slice(0, CAP48).map((a) => a.status)).toEqual(Array(CAP48).fill(200));
    for (const answer of answers.slice(CAP48)) expectTooManyBoxes(answer);
    const all = (await Promise.all(held.map((_, i) => listed(baseFor(i), addressIn('b', i, 9))))).flat();
    expect(all.sort()).toEqual(held.map((box) => box.fingerprint).sort());
  });

  it('a burst of new boxes from the /64s of two /48s through every node: exactly the cap of each is listed', async () => {
    const boxes = await newBoxes(32, 'burst');
    // Even boxes on /48 c, odd ones on /48 d, each box on a /64 of its own.
    const addressOf = (i: number): string => addressIn(i % 2 ? 'd' : 'c', i);
    const answers = await Promise.all(boxes.map((box, i) => announce(baseFor(i), addressOf(i), box)));
    for (const block of [0, 1]) {
      const ofBlock = answers.filter((_, i) => i % 2 === block);
      expect(ofBlock.filter((a) => a.status === 200)).toHaveLength(CAP48);
      for (const answer of ofBlock.filter((a) => a.status !== 200)) expectTooManyBoxes(answer);
    }
    for (const base of bases) {
      const seen = (await Promise.all(boxes.map((_, i) => listed(base, addressOf(i))))).flat();
      expect(new Set(seen).size).toBe(2 * CAP48);
    }
    // Only the accepted boxes hold /64 places.
    const placed = (await Promise.all(boxes.map((_, i) => networkPlaces(addressOf(i))))).flat();
    expect(placed.sort()).toEqual(boxes.filter((_, i) => answers[i]!.status === 200).map((box) => box.fingerprint).sort());
  });

  it('IPv4 is unchanged: boxes from as many addresses as the /48 cap and more are each listed', async () => {
    const boxes = await newBoxes(CAP48 + 2, 'four');
    for (const [i, box] of boxes.entries()) expect((await announce(baseFor(i), `198.51.100.${120 + i}`, box)).status).toBe(200);
  });

  it(`a /48 takes ${RATE48} signed announcements a minute from all its /64s together; unsigned ones do not count`, async () => {
    const [box] = await newBoxes(1, 'rate');
    // Unsigned requests (what a web page on the network can send) spend nothing of the /48's budget.
    for (let i = 0; i < RATE48 + 5; i++) {
      const unsigned = await httpFrom('127.0.0.1', `${baseFor(i)}/register`, { method: 'POST', body: JSON.stringify({ client: box!.fingerprint, message: 'hi' }), headers: { 'x-forwarded-for': addressIn('e', 200 + i) } });
      expect(unsigned.status).toBe(401);
    }
    const statuses: number[] = [];
    for (let i = 0; i < RATE48 + 3; i++) statuses.push((await announce(baseFor(i), addressIn('e', 1, i + 1), box!)).status);
    expect(statuses.slice(0, RATE48)).toEqual(Array(RATE48).fill(200));
    const refused = await announce(baseFor(0), addressIn('e', 999), box!);
    expect(refused.status, refused.text).toBe(429);
    expect(refused.json).toMatchObject({ errno: 130, reason: 'rate_limited' });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    // Another /48 has its own budget.
    expect((await announce(baseFor(1), addressIn('f', 1), box!)).status).toBe(200);
  });
});
