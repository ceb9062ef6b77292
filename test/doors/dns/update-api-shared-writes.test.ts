import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DnsRuntime } from '../../../src/doors/dns/dns-door.js';
import type { BoxIdentity } from '../../../src/doors/registry/box-identity.js';
import type { TestApp } from '../../helpers/app.js';
import { storeSetups } from '../../helpers/services.js';
import { createDnsApp, newBox, resolverFor, updateRequest, ZONE, type UpdateAnswer } from './dns-helpers.js';

const PER_BOX = 5;
const PER_NETWORK = 12;

const ENV = {
  PAIRGATE_DNS_UPDATES_PER_MINUTE: '100000',
  PAIRGATE_DNS_MAX_RECORDS_PER_BOX: String(PER_BOX),
  PAIRGATE_DNS_MAX_RECORDS_PER_IP: String(PER_NETWORK),
};

const setups = await storeSetups();

/** How many answers had each status and error code (`200`, `400 cname_conflict`, ...). */
function tally(answers: UpdateAnswer[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const answer of answers) {
    const key = answer.status === 200 ? '200' : `${answer.status} ${String(answer.json?.error)}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/**
 * The update API's checks under concurrent writes, alternately through two nodes sharing their
 * stores (and on one SQLite node, whose single writer must keep behaving as it did): each check and
 * its write are one transaction, serialised per box, per network and, for CNAMEs, per zone. Checked
 * apart from the write under READ COMMITTED, two nodes both passed: a CNAME beside an A record, two
 * A values at a name, 500s from a unique violation, and caps of 5 and 10 holding 8 to 18 records.
 */
for (const setup of setups) describe.skipIf(Boolean(setup.skip))(`DNS update API writes under concurrency, ${setup.name}${setup.skip ? ` (skipped: ${setup.skip})` : ''}`, () => {
  const nodes: { t: TestApp; runtime: DnsRuntime }[] = [];
  let cleanup: () => Promise<void> = async () => {};

  beforeAll(async () => {
    const made = await setup.env();
    cleanup = made.cleanup;
    for (let i = 0; i < setup.nodes; i++) nodes.push(await createDnsApp({ ...ENV, ...made.env }));
  }, 60_000);

  afterAll(async () => {
    for (const node of nodes) await node.t.close();
    await cleanup();
  });

  const node = (i: number): DnsRuntime => nodes[i % nodes.length]!.runtime;
  const post = (i: number, box: BoxIdentity, name: string, type: string, value: string, localAddress: string) =>
    updateRequest(node(i), box, 'POST', name, { body: { type, value }, localAddress });
  const recordsOf = async (box: BoxIdentity, localAddress: string) =>
    (await updateRequest(node(0), box, 'GET', `${box.fingerprint}.${ZONE}`, { localAddress })).json.records as { name: string; type: string; value: string }[];

  it(`a burst of new names from one box: exactly ${PER_BOX} held, the rest too_many_records`, async () => {
    const box = await newBox('burst');
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => post(i, box, `n${i}.${box.fingerprint}.${ZONE}`, 'A', `192.0.2.${i + 1}`, '127.0.0.11')));
    expect(tally(answers)).toEqual({ '200': PER_BOX, '400 too_many_records': 20 - PER_BOX });
    expect(await recordsOf(box, '127.0.0.11')).toHaveLength(PER_BOX);
  });

  it(`a burst of new boxes of one network: exactly ${PER_NETWORK} records held, the rest too_many_records_from_network`, async () => {
    const boxes = await Promise.all(Array.from({ length: 6 }, (_, i) => newBox(`net${i}`)));
    const writes = boxes.flatMap((box, b) => [0, 1, 2, 3].map((label) => ({ box, name: `n${label}.${box.fingerprint}.${ZONE}`, i: b * 4 + label })));
    const answers = await Promise.all(writes.map(({ box, name, i }) => post(i, box, name, 'A', `198.51.100.${i + 1}`, '127.0.0.12')));
    expect(tally(answers)).toEqual({ '200': PER_NETWORK, '400 too_many_records_from_network': writes.length - PER_NETWORK });
    let held = 0;
    for (const box of boxes) held += (await recordsOf(box, '127.0.0.12')).length;
    expect(held).toBe(PER_NETWORK);
  });

  it('different A values sent to one name at once: every write 200, one value left (the last written)', async () => {
    const box = await newBox('values');
    for (let round = 0; round < 5; round++) {
      const name = `v${round}.${box.fingerprint}.${ZONE}`;
      const values = Array.from({ length: 4 }, (_, i) => `203.0.113.${round * 10 + i + 1}`);
      const answers = await Promise.all(values.map((value, i) => post(i, box, name, 'A', value, '127.0.0.13')));
      expect(tally(answers)).toEqual({ '200': values.length });
      const atName = (await recordsOf(box, '127.0.0.13')).filter((r) => r.name === name);
      expect(atName).toHaveLength(1);
      expect(values).toContain(atName[0]!.value);
    }
  });

  it('the same A value sent to one name at once: every write 200 (never a 500), one record', async () => {
    const box = await newBox('same');
    for (let round = 0; round < 5; round++) {
      const name = `s${round}.${box.fingerprint}.${ZONE}`;
      const answers = await Promise.all(Array.from({ length: 4 }, (_, i) => post(i, box, name, 'A', '203.0.113.99', '127.0.0.14')));
      expect(tally(answers)).toEqual({ '200': 4 });
      expect((await recordsOf(box, '127.0.0.14')).filter((r) => r.name === name).map((r) => `${r.type} ${r.value}`)).toEqual(['A 203.0.113.99']);
    }
  });

  it('an A record and a CNAME sent to one name at once: one wins, the other is cname_conflict', async () => {
    const box = await newBox('clash');
    for (let round = 0; round < 5; round++) {
      const name = `c${round}.${box.fingerprint}.${ZONE}`;
      const answers = await Promise.all([post(0, box, name, 'A', '203.0.113.1', '127.0.0.15'), post(1, box, name, 'CNAME', 'example.org.', '127.0.0.15')]);
      expect(tally(answers)).toEqual({ '200': 1, '400 cname_conflict': 1 });
      const types = (await recordsOf(box, '127.0.0.15')).filter((r) => r.name === name).map((r) => r.type);
      expect(types).toEqual([answers[0]!.status === 200 ? 'A' : 'CNAME']);
    }
  });

  it('two CNAMEs of two boxes pointing at each other, sent at once: never both, no loop', async () => {
    const [one, two] = await Promise.all([newBox('loop1'), newBox('loop2')]);
    for (let round = 0; round < 5; round++) {
      const p = `p${round}.${one.fingerprint}.${ZONE}`;
      const q = `q${round}.${two.fingerprint}.${ZONE}`;
      const answers = await Promise.all([post(0, one, p, 'CNAME', `${q}.`, '127.0.0.16'), post(1, two, q, 'CNAME', `${p}.`, '127.0.0.17')]);
      expect(tally(answers)).toEqual({ '200': 1, '400 cname_loop': 1 });
    }
  });

  // Two nodes only: one node's writes drop its own look-ups.
  if (setup.nodes > 1) it('checks read what another node wrote a moment ago, whatever this node looked up in its last second', async () => {
    const [a, b] = [node(0), node(1)];
    const box = await newBox('fresh');
    // Node B answers DNS for the names first (nothing there), which it keeps for a second.
    const lookUp = (name: string) => resolverFor(b.dns.port).resolve4(name).catch(() => []);

    const name = `d.${box.fingerprint}.${ZONE}`;
    expect(await lookUp(name)).toEqual([]);
    expect((await updateRequest(a, box, 'POST', name, { body: { type: 'A', value: '203.0.113.2' }, localAddress: '127.0.0.18' })).status).toBe(200);
    const cname = await updateRequest(b, box, 'POST', name, { body: { type: 'CNAME', value: 'example.org.' }, localAddress: '127.0.0.18' });
    expect(cname.status).toBe(400);
    expect(cname.json.error).toBe('cname_conflict');

    const other = `e.${box.fingerprint}.${ZONE}`;
    expect(await lookUp(other)).toEqual([]);
    expect((await updateRequest(a, box, 'POST', other, { body: { type: 'CNAME', value: 'example.org.' }, localAddress: '127.0.0.18' })).status).toBe(200);
    const address = await updateRequest(b, box, 'POST', other, { body: { type: 'A', value: '203.0.113.3' }, localAddress: '127.0.0.18' });
    expect(address.json.error).toBe('cname_conflict');

    // A loop through a name node B looked up before node A pointed it here.
    const x1 = `x1.${box.fingerprint}.${ZONE}`;
    const x2 = `x2.${box.fingerprint}.${ZONE}`;
    expect(await lookUp(x1)).toEqual([]);
    expect((await updateRequest(a, box, 'POST', x1, { body: { type: 'CNAME', value: `${x2}.` }, localAddress: '127.0.0.18' })).status).toBe(200);
    const loop = await updateRequest(b, box, 'POST', x2, { body: { type: 'CNAME', value: `${x1}.` }, localAddress: '127.0.0.18' });
    expect(loop.json.error).toBe('cname_loop');

    const held = (await recordsOf(box, '127.0.0.18')).map((r) => `${r.name.split('.')[0]} ${r.type}`).sort();
    expect(held).toEqual(['d A', 'e CNAME', 'x1 CNAME']);
  });
});
