import { describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { storeSetups } from '../../helpers/services.js';

const setups = await storeSetups();

/**
 * PAIRGATE_CODE_LOOKUPS_PER_MINUTE is one limit per network on a door's code look-ups, as the
 * brute-force check at start-up counts it. It was counted per route: the generic door's look-up,
 * the HEAD Fastify adds beside it, approve and refuse each allowed the whole minute's look-ups, four
 * times the rate the check assumed. Malformed codes (400, no miss counted) so that only the
 * per-minute limit can refuse.
 */
describe('code look-ups per minute, every route of a door together', () => {
  for (const setup of setups) {
    it.skipIf(Boolean(setup.skip))(`GET, HEAD, approve and refuse share PAIRGATE_CODE_LOOKUPS_PER_MINUTE, ${setup.name}${setup.skip ? ` (skipped: ${setup.skip})` : ''}`, async () => {
      const { env, cleanup } = await setup.env();
      const nodes: TestApp[] = [];
      try {
        for (let i = 0; i < setup.nodes; i++) nodes.push(await createTestApp({ ...env, PAIRGATE_CODE_LOOKUPS_PER_MINUTE: '4' }));
        const statuses: number[] = [];
        let n = 0;
        for (let round = 0; round < 4; round++) {
          for (const [method, url] of [['GET', '/api/v1/codes/aaaa'], ['HEAD', '/api/v1/codes/aaaa'], ['POST', '/api/v1/codes/aaaa/approve'], ['POST', '/api/v1/codes/aaaa/refuse']] as const) {
            const node = nodes[n++ % nodes.length]!;
            statuses.push((await node.app.inject({ method, url })).statusCode);
          }
        }
        expect(statuses.filter((status) => status !== 429)).toHaveLength(4);
        expect(statuses.filter((status) => status === 429)).toHaveLength(12);
        // Routes of no group still count apart: a creation is not a look-up.
        expect((await nodes[0]!.app.inject({ method: 'POST', url: '/api/v1/grants', payload: { label: 'still' } })).statusCode).toBe(201);
      } finally {
        for (const node of nodes) await node.close();
        await cleanup();
      }
    });
  }
});
