import { describe, expect, it } from 'vitest';
import { announceFrom as announce, listedFor as listed, newBoxes } from './announce-helpers.js';
import { storeSetups } from '../../helpers/services.js';
import { listeningNodes } from '../../helpers/setup-nodes.js';

const CAP = 4;

const ENV = {
  PAIRGATE_TRUST_PROXY: '127.0.0.1',
  PAIRGATE_REGISTRY_MAX_PER_IP: String(CAP),
  PAIRGATE_REGISTRY_REGISTER_PER_MINUTE: '10000',
  PAIRGATE_REGISTRY_PING_PER_MINUTE: '10000',
  PAIRGATE_RATE_LIMIT_MAX: '100000',
};

const setups = await storeSetups();

/**
 * The per-network cap of the registry under a burst: new boxes of one network announcing at once,
 * over real sockets (and alternately through two nodes sharing their stores), get exactly CAP
 * places; the rest 429 too_many_boxes (errno 120). Counting the entries and then writing let the
 * whole burst through.
 */
for (const setup of setups) describe.skipIf(Boolean(setup.skip))(`registry box cap under concurrency, ${setup.name}${setup.skip ? ` (skipped: ${setup.skip})` : ''}`, () => {
  const { bases, baseFor } = listeningNodes(setup, ENV);

  it('of 16 new boxes announcing at once from one network, exactly CAP are listed; the rest get 429 errno 120', async () => {
    const network = '203.0.113.50';
    const boxes = await newBoxes(16, 'burst');
    const answers = await Promise.all(boxes.map((box, i) => announce(baseFor(i), network, box)));
    const accepted = boxes.filter((_, i) => answers[i]!.status === 200).map((box) => box.fingerprint);
    expect(accepted).toHaveLength(CAP);
    for (const answer of answers.filter((a) => a.status !== 200)) {
      expect(answer.status, answer.text).toBe(429);
      expect(answer.json).toMatchObject({ code: 429, errno: 120, reason: 'too_many_boxes' });
      expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
    }
    for (const base of bases) expect((await listed(base, network)).sort()).toEqual([...accepted].sort());
  });

  it('a full network: listed boxes refreshing at once with a burst of new ones are all accepted, the new ones all refused', async () => {
    const network = '2001:db8:77:1::1';
    const listedBoxes = await newBoxes(CAP, 'held');
    for (const [i, box] of listedBoxes.entries()) expect((await announce(baseFor(i), network, box)).status).toBe(200);
    const newcomers = await newBoxes(8, 'late');
    const mixed = [...listedBoxes, ...newcomers];
    // Each listed box refreshes from another address of its /64, interleaved with the newcomers.
    const answers = await Promise.all(mixed.map((box, i) => announce(baseFor(i), `2001:db8:77:1::${(i + 2).toString(16)}`, box)));
    expect(answers.slice(0, CAP).map((a) => a.status)).toEqual(Array(CAP).fill(200));
    expect(answers.slice(CAP).map((a) => a.status)).toEqual(Array(newcomers.length).fill(429));
    expect((await listed(baseFor(1), network)).sort()).toEqual(listedBoxes.map((box) => box.fingerprint).sort());
  });

  it('one box announcing many times at once holds one place: the rest of the network stays open to other boxes', async () => {
    // Five trials on networks of their own: the race is a matter of timing, and in each trial every
    // announcement of the box may take a place before any of them looks again.
    for (let trial = 0; trial < 5; trial++) {
      const network = `198.51.100.${60 + trial}`;
      const [box] = await newBoxes(1, `twice${trial}`);
      const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => announce(baseFor(i), network, box!)));
      expect(answers.map((a) => a.status)).toEqual(Array(6).fill(200));
      const others = await newBoxes(CAP - 1, `rest${trial}`);
      for (const [i, other] of others.entries()) expect((await announce(baseFor(i), network, other)).status, `trial ${trial}, box ${i}`).toBe(200);
      expect(await listed(baseFor(0), network)).toHaveLength(CAP);
    }
  });

  it('another network has places of its own during the burst', async () => {
    const boxes = await newBoxes(CAP * 2, 'two');
    const answers = await Promise.all(boxes.map((box, i) => announce(baseFor(i), i % 2 ? '198.51.100.21' : '198.51.100.22', box)));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(CAP * 2);
  });
});
