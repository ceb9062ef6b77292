import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NumberedSlots } from '../../../src/doors/shared/numbered-slots.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { storeSetups } from '../../helpers/services.js';
import { INSTALL_ENV, installConnector, Member, type Answer } from './install-helpers.js';

const CAP = 6;
const BURST = 24;

const setups = await storeSetups();

/**
 * PAIRGATE_INSTALL_MAX_LIVE_LINK_TOKENS under a burst, over real sockets: of BURST requests at once
 * (through both nodes where there are two), exactly CAP make a token, the rest 429 rate_limited
 * with a Retry-After. The brute-force budget is computed with the cap, so it must hold; the cached
 * live count compared before creating let a whole burst through.
 */
for (const setup of setups) describe.skipIf(Boolean(setup.skip))(`install link tokens: the live cap under a burst, ${setup.name}${setup.skip ? ` (skipped: ${setup.skip})` : ''}`, () => {
  const nodes: TestApp[] = [];
  const members: { member: Member; orgId: string }[] = [];
  let cleanup: () => Promise<void> = async () => {};

  beforeAll(async () => {
    const made = await setup.env();
    cleanup = made.cleanup;
    for (let i = 0; i < setup.nodes; i++) {
      const node = await createTestApp({ ...INSTALL_ENV, ...made.env, PAIRGATE_INSTALL_MAX_LIVE_LINK_TOKENS: String(CAP) });
      nodes.push(node);
      const base = await node.listen();
      const member = await Member.create(base, `capper${i}`);
      const orgId = await member.createOrg(`Cap ${i}`);
      // Link tokens are made only where the chat is installed.
      await installConnector(base, member, orgId);
      members.push({ member, orgId });
    }
  }, 60_000);

  afterAll(async () => {
    for (const node of nodes) await node.close();
    await cleanup();
  });

  it(`of ${BURST} link tokens asked at once, exactly ${CAP} are made; the others get 429 rate_limited`, async () => {
    const answers: Answer[] = await Promise.all(Array.from({ length: BURST }, (_, i) => {
      const { member, orgId } = members[i % members.length]!;
      return member.linkToken(orgId);
    }));
    const made = answers.filter((answer) => answer.status === 201);
    expect(made).toHaveLength(CAP);
    expect(new Set(made.map((answer) => answer.body.token)).size).toBe(CAP);
    for (const answer of answers.filter((a) => a.status !== 201)) {
      expect(answer.status).toBe(429);
      expect(answer.body).toMatchObject({ error: 'rate_limited' });
      const wait = Number(answer.headers.get('retry-after'));
      // Until the first token expires: about the token TTL (300 s).
      expect(wait).toBeGreaterThan(0);
      expect(wait).toBeLessThanOrEqual(301);
    }
    // Still full afterwards, on every node.
    for (const { member, orgId } of members) expect((await member.linkToken(orgId)).status).toBe(429);
  });

  it('a large cap (random slots tried first, as for the default 10,000): of 250 takes at once over the nodes\' stores, exactly 100 succeed', async () => {
    const now = Date.now();
    const stores = nodes.map((node) => new NumberedSlots(node.app.pairgate.stores.ephemeral, 'test|large-cap|', 100));
    const taken = await Promise.all(Array.from({ length: 250 }, (_, i) => stores[i % stores.length]!.take('all', String(i), 60_000, now, { randomProbes: 4 })));
    expect(taken.filter((result) => result.ok)).toHaveLength(100);
    expect(new Set(taken.flatMap((result) => (result.ok ? [result.key] : []))).size).toBe(100);
    expect(await stores[0]!.held('all', now)).toHaveLength(100);
  });
});
