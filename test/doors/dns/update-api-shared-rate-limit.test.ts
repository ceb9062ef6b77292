import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DnsRuntime } from '../../../src/doors/dns/dns-door.js';
import type { TestApp } from '../../helpers/app.js';
import { httpFrom } from '../../helpers/http-from.js';
import { storeSetups } from '../../helpers/services.js';
import { createDnsApp, newBox, updateRequest, ZONE } from './dns-helpers.js';

const PER_MINUTE = 6;
/** The main server's limit, low too: the update API's counts must not spend it. */
const MAIN_LIMIT = 8;

const setups = (await storeSetups()).filter((setup) => setup.nodes > 1);

/**
 * The update API's rate limit counts where the main server's does (Redis, or PostgreSQL's
 * ephemeral table): in process memory, each of two nodes allowed PAIRGATE_DNS_UPDATES_PER_MINUTE
 * on its own, though scaling.md promises that limits count every node together. Its counts are
 * its own, apart from the main server's in the same store.
 */
for (const setup of setups) describe.skipIf(Boolean(setup.skip))(`DNS update API rate limit across nodes, ${setup.name}${setup.skip ? ` (skipped: ${setup.skip})` : ''}`, () => {
  const nodes: { t: TestApp; runtime: DnsRuntime; url: string }[] = [];
  let cleanup: () => Promise<void> = async () => {};

  beforeAll(async () => {
    const made = await setup.env();
    cleanup = made.cleanup;
    for (let i = 0; i < setup.nodes; i++) {
      const node = await createDnsApp({ PAIRGATE_DNS_UPDATES_PER_MINUTE: String(PER_MINUTE), PAIRGATE_RATE_LIMIT_MAX: String(MAIN_LIMIT), ...made.env });
      nodes.push({ ...node, url: await node.t.listen() });
    }
  }, 60_000);

  afterAll(async () => {
    for (const node of nodes) await node.t.close();
    await cleanup();
  });

  it(`requests from one network split across the nodes: ${PER_MINUTE} in all get through, the rest 429; the main server's own limit is untouched`, async () => {
    const box = await newBox('limited');
    const localAddress = '127.0.0.31';
    const answers = await Promise.all(Array.from({ length: 2 * PER_MINUTE }, (_, i) => updateRequest(nodes[i % nodes.length]!.runtime, box, 'GET', `${box.fingerprint}.${ZONE}`, { localAddress })));
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses).toEqual([...Array<number>(PER_MINUTE).fill(200), ...Array<number>(PER_MINUTE).fill(429)]);
    for (const refused of answers.filter((answer) => answer.status === 429)) expect(refused.json.error).toBe('rate_limited');
    // Another network has its own count.
    expect((await updateRequest(nodes[0]!.runtime, box, 'GET', `${box.fingerprint}.${ZONE}`, { localAddress: '127.0.0.32' })).status).toBe(200);
    // The main server counted none of them: its first request from that network is answered.
    expect((await httpFrom(localAddress, `${nodes[1]!.url}/docs/json`)).status).toBe(200);
  });
});
