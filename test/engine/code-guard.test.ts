import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { CodeGuard, missesPerFiveMinutes } from '../../src/engine/code-guard.js';
import { coreMigrations } from '../../src/store/migrations/core.js';
import type { Stores } from '../../src/store/ports.js';
import { openSqliteStores } from '../../src/store/sqlite/sqlite-stores.js';

describe('CodeGuard (real SQLite ephemeral store)', () => {
  let stores: Stores;
  let guard: CodeGuard;
  const clock = new ManualClock(Date.now());
  beforeAll(async () => {
    stores = await openSqliteStores({ dataDir: mkdtempSync(join(tmpdir(), 'pairgate-guard-')), migrations: coreMigrations });
    guard = new CodeGuard(stores.ephemeral, clock, { missesPerHour: 3, attemptsPerCode: 5 });
  });
  afterAll(() => stores.close());

  it("keeps the counters of each scope and address, keyed by both: the hour's, and the five minutes' where it is below the hour's", () => {
    const counters = guard.counters('pair', '203.0.113.9');
    // 3 an hour: the five minutes' share would be all 3, which never binds before the hour's.
    expect(counters).toEqual([{ key: 'miss:pair:203.0.113.9', limit: 3 }]);
    expect(guard.counters('pair', '203.0.113.9')).toBe(counters);
    expect(guard.counters('pair', '203.0.113.10')[0]!.key).toBe('miss:pair:203.0.113.10');
    const hourly = new CodeGuard(stores.ephemeral, clock, { missesPerHour: 60, attemptsPerCode: 5 });
    expect(hourly.counters('device', '203.0.113.9')).toEqual([{ key: 'miss:device:203.0.113.9', limit: 60 }, { key: 'miss5:device:203.0.113.9', limit: 5, windowMs: 300_000 }]);
  });

  it('counts misses per address across look-ups that reuse the counter, and refuses the spent address only', async () => {
    const miss = () => guard.lookup('pair', '192.0.2.7', async () => undefined);
    for (let i = 0; i < 3; i++) await expect(miss()).resolves.toBeUndefined();
    await expect(miss()).rejects.toMatchObject({ status: 429, code: 'rate_limited' });
    await expect(guard.lookup('pair', '192.0.2.8', async () => 'found')).resolves.toBe('found');
  });

  it('spends the hour a twelfth at a time: with 60 misses an hour, 5 in five minutes, then 429 until those five minutes end; the hour still counts', async () => {
    const hourly = new CodeGuard(stores.ephemeral, clock, { missesPerHour: 60, attemptsPerCode: 5 });
    const miss = () => hourly.lookup('pair', '198.51.100.4', async () => undefined);
    for (let i = 0; i < 5; i++) await expect(miss()).resolves.toBeUndefined();
    const refused = await miss().catch((error: unknown) => error);
    expect(refused).toMatchObject({ status: 429, code: 'rate_limited' });
    expect((refused as { details: { retryAfterSeconds: number } }).details.retryAfterSeconds).toBeLessThanOrEqual(300);
    clock.advance(300_001);
    for (let i = 0; i < 5; i++) await expect(miss()).resolves.toBeUndefined();
    await expect(miss()).rejects.toMatchObject({ status: 429 });
    expect(Number(await stores.ephemeral.get('miss:pair:198.51.100.4', clock.now()))).toBe(10);
  });
});

describe('missesPerFiveMinutes', () => {
  it('is a twelfth of the hour rounded up, never under 5, and the whole hour when it is 5 or less', () => {
    expect(missesPerFiveMinutes(60)).toBe(5);
    expect(missesPerFiveMinutes(61)).toBe(6);
    expect(missesPerFiveMinutes(120)).toBe(10);
    expect(missesPerFiveMinutes(30)).toBe(5);
    expect(missesPerFiveMinutes(5)).toBe(5);
    expect(missesPerFiveMinutes(3)).toBe(3);
    expect(missesPerFiveMinutes(1)).toBe(1);
    expect(missesPerFiveMinutes(1_000_000)).toBe(83_334);
  });
});
