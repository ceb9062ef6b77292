import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { grantsConfigSchema } from '../../../src/doors/grants/config.js';
import { loadConfig } from '../../../src/server/config.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { httpFrom, type HttpAnswer } from '../../helpers/http-from.js';
import { createTestPrefix, REDIS_URL, redisMissing } from '../../helpers/services.js';

const redisSkip = await redisMissing();

/** Of `answers`, checks that `created` were made and the rest refused with 429 too_many_live_grants and a Retry-After. */
function expectCapped(answers: HttpAnswer[], created: number): void {
  expect(answers.filter((answer) => answer.status === 201)).toHaveLength(created);
  const refused = answers.filter((answer) => answer.status !== 201);
  expect(refused).toHaveLength(answers.length - created);
  for (const answer of refused) {
    expect(answer.status).toBe(429);
    expect(answer.json).toMatchObject({ error: 'too_many_live_grants' });
    expect(Number(answer.headers['retry-after'])).toBeGreaterThan(500);
  }
}

/** The keys of the ephemeral table of `t`'s SQLite database. */
function ephemeralKeys(t: TestApp): string[] {
  const file = new BetterSqlite3(join(t.config.PAIRGATE_DATA_DIR, 'pairgate.db'), { readonly: true });
  try {
    return file.prepare('select key from ephemeral').pluck().all() as string[];
  } finally {
    file.close();
  }
}

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
      expectCapped(await Promise.all(Array.from({ length: 8 }, () => create('127.0.0.2', base))), 3);
      // Another address is not affected.
      expect((await create('127.0.0.3', base)).status).toBe(201);
      // On SQLite the cap is kept with the grants (their owner column), without a write of its own.
      expect(ephemeralKeys(t).filter((key) => key.startsWith('grants|live|'))).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('keeps counting an address\'s live grants after a restart on the same data folder', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-live-cap-'));
    const env = { PAIRGATE_MAX_LIVE_CODES: '10', PAIRGATE_GRANTS_MAX_LIVE_PER_IP: '3', PAIRGATE_DATA_DIR: dataDir };
    const first = await createTestApp(env);
    try {
      const base = await first.listen();
      expectCapped(await Promise.all([create('127.0.0.2', base), create('127.0.0.2', base)]), 2);
    } finally {
      await first.close();
    }
    const second = await createTestApp(env);
    try {
      const base = await second.listen();
      expectCapped(await Promise.all(Array.from({ length: 4 }, () => create('127.0.0.2', base))), 1);
    } finally {
      await second.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it.skipIf(redisSkip)('holds exactly across two nodes sharing Redis (numbered slots in the ephemeral store)', async () => {
    const prefix = createTestPrefix();
    const env = { PAIRGATE_MAX_LIVE_CODES: '10', PAIRGATE_GRANTS_MAX_LIVE_PER_IP: '3', PAIRGATE_REDIS_URL: REDIS_URL, PAIRGATE_REDIS_PREFIX: prefix.prefix };
    const a = await createTestApp(env);
    const b = await createTestApp(env);
    try {
      const [baseA, baseB] = [await a.listen(), await b.listen()];
      const burst = await Promise.all(Array.from({ length: 8 }, (_, i) => create('127.0.0.2', i % 2 ? baseA : baseB)));
      expectCapped(burst, 3);
      expect((await create('127.0.0.3', baseB)).status).toBe(201);
    } finally {
      await a.close();
      await b.close();
      await prefix.cleanup();
    }
  });

  it('by default, one address cannot hold all of PAIRGATE_MAX_LIVE_CODES', () => {
    const config = loadConfig([grantsConfigSchema], { env: {} }) as Record<string, unknown>;
    expect(config.PAIRGATE_GRANTS_MAX_LIVE_PER_IP).toBeLessThan(config.PAIRGATE_MAX_LIVE_CODES as number);
  });
});
