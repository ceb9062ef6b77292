import { describe, expect, it } from 'vitest';
import { grantsConfigSchema } from '../../../src/doors/grants/config.js';
import { loadConfig } from '../../../src/server/config.js';
import { createTestApp } from '../../helpers/app.js';
import { httpFrom } from '../../helpers/http-from.js';

/**
 * One address must not hold every live code of the generic grant API: at the default creation rate
 * (120 a minute) and lifetime (600 s) it could keep PAIRGATE_MAX_LIVE_CODES (1000) full on its own,
 * and every other client would be refused for as long as it cared to.
 */
describe('generic grants: live grants per address', () => {
  const create = (from: string, base: string) => httpFrom(from, `${base}/api/v1/grants`, { method: 'POST', body: '{"label":"cap"}' });

  it('an address holds at most PAIRGATE_GRANTS_MAX_LIVE_PER_IP live grants (429 too_many_live_grants, Retry-After); other addresses still create', async () => {
    const t = await createTestApp({ PAIRGATE_MAX_LIVE_CODES: '10', PAIRGATE_GRANTS_MAX_LIVE_PER_IP: '3' });
    try {
      const base = await t.listen();
      // A burst from one address: exactly 3 pass.
      const burst = await Promise.all(Array.from({ length: 8 }, () => create('127.0.0.2', base)));
      expect(burst.filter((answer) => answer.status === 201)).toHaveLength(3);
      const refused = burst.filter((answer) => answer.status !== 201);
      expect(refused).toHaveLength(5);
      for (const answer of refused) {
        expect(answer.status).toBe(429);
        expect(answer.json).toMatchObject({ error: 'too_many_live_grants' });
        expect(Number(answer.headers['retry-after'])).toBeGreaterThan(500);
      }
      // Another address is not affected.
      expect((await create('127.0.0.3', base)).status).toBe(201);
    } finally {
      await t.close();
    }
  });

  it('by default, one address cannot hold all of PAIRGATE_MAX_LIVE_CODES', () => {
    const config = loadConfig([grantsConfigSchema], { env: {} }) as Record<string, unknown>;
    expect(config.PAIRGATE_GRANTS_MAX_LIVE_PER_IP).toBeLessThan(config.PAIRGATE_MAX_LIVE_CODES as number);
  });
});
