import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { CodeGuard } from '../../src/engine/code-guard.js';
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

  it("keeps one counter per scope and address, keyed by both, with the hour's limit", () => {
    const counter = guard.counter('pair', '203.0.113.9');
    expect(counter).toEqual({ key: 'miss:pair:203.0.113.9', limit: 3 });
    expect(guard.counter('pair', '203.0.113.9')).toBe(counter);
    expect(guard.counter('pair', '203.0.113.10').key).toBe('miss:pair:203.0.113.10');
    expect(guard.counter('device', '203.0.113.9').key).toBe('miss:device:203.0.113.9');
  });

  it('counts misses per address across look-ups that reuse the counter, and refuses the spent address only', async () => {
    const miss = () => guard.lookup('pair', '192.0.2.7', async () => undefined);
    for (let i = 0; i < 3; i++) await expect(miss()).resolves.toBeUndefined();
    await expect(miss()).rejects.toMatchObject({ status: 429, code: 'rate_limited' });
    await expect(guard.lookup('pair', '192.0.2.8', async () => 'found')).resolves.toBe('found');
  });
});
