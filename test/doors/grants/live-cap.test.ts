import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { createTestApp } from '../../helpers/app.js';
import { storeSetups } from '../../helpers/services.js';

const setups = await storeSetups();

/**
 * PAIRGATE_MAX_LIVE_CODES: the number of live codes the brute-force budget was computed for. On one
 * node it holds exactly, also for creations that arrive together (they share one group commit, so
 * none is in the database when the others check the cap), and on every store (PostgreSQL's and
 * Redis's counts take a round-trip, during which more requests arrive).
 */
describe('live code cap of the generic grant API', () => {
  const create = (base: string) =>
    fetch(`${base}/api/v1/grants`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"label":"cap"}' });

  for (const setup of setups) {
    it.skipIf(Boolean(setup.skip))(`20 creations at once against a cap of 5, one node ${setup.name.replace(/^(one node|two nodes sharing) /, 'on ').replace('on on', 'on')}: exactly 5 are made, the others are 429 rate_limited${setup.skip ? ` (skipped: ${setup.skip})` : ''}`, async () => {
      const { env, cleanup } = await setup.env();
      const t = await createTestApp({ ...env, PAIRGATE_MAX_LIVE_CODES: '5' });
      try {
        const base = await t.listen();
        const answers = await Promise.all(Array.from({ length: 20 }, () => create(base)));
        const statuses = answers.map((answer) => answer.status).sort();
        expect(statuses.filter((status) => status === 201)).toHaveLength(5);
        expect(statuses.filter((status) => status === 429)).toHaveLength(15);
        const refused = (await answers.find((answer) => answer.status === 429)!.json()) as { error: string };
        expect(refused.error).toBe('rate_limited');
        // Still 5 a moment later, when the count is read from the database again.
        await new Promise((resolve) => setTimeout(resolve, 1_100));
        expect((await create(base)).status).toBe(429);
      } finally {
        await t.close();
        await cleanup();
      }
    });
  }

  for (const setup of setups) {
    it.skipIf(Boolean(setup.skip))(`a decided grant frees its place (its code is spent) once the count is read again, ${setup.name}${setup.skip ? ` (skipped: ${setup.skip})` : ''}`, async () => {
      const { env, cleanup } = await setup.env();
      const clock = new ManualClock(Date.now());
      const t = await createTestApp({ ...env, PAIRGATE_MAX_LIVE_CODES: '2' }, { clock });
      try {
        const create = async () => t.app.inject({ method: 'POST', url: '/api/v1/grants', payload: { label: 'cap' } });
        const first = (await create()).json() as { code: string };
        const second = (await create()).json() as { code: string };
        const refused = await create();
        expect(refused.statusCode).toBe(429);
        expect(refused.json()).toMatchObject({ error: 'rate_limited' });
        expect((await t.app.inject({ method: 'POST', url: `/api/v1/codes/${first.code}/approve` })).statusCode).toBe(200);
        expect((await t.app.inject({ method: 'POST', url: `/api/v1/codes/${second.code}/refuse` })).statusCode).toBe(200);
        clock.advance(1_000);
        // Both still live (approved, refused) until they are redeemed or expire: neither counts.
        expect((await create()).statusCode).toBe(201);
        expect((await create()).statusCode).toBe(201);
        expect((await create()).statusCode).toBe(429);
      } finally {
        await t.close();
        await cleanup();
      }
    });
  }

  it('an expired grant frees its place once the count is read again', async () => {
    const clock = new ManualClock(Date.now());
    const t = await createTestApp({ PAIRGATE_MAX_LIVE_CODES: '2' }, { clock });
    try {
      const inject = (ttl: number) => t.app.inject({ method: 'POST', url: '/api/v1/grants', payload: { label: 'cap', ttl } });
      expect((await inject(10)).statusCode).toBe(201);
      expect((await inject(600)).statusCode).toBe(201);
      expect((await inject(600)).statusCode).toBe(429);
      clock.advance(11_000);
      expect((await inject(600)).statusCode).toBe(201);
      expect((await inject(600)).statusCode).toBe(429);
    } finally {
      await t.close();
    }
  });
});
