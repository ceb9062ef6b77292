import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { GrantEngine } from '../../src/engine/grant-engine.js';
import { MemoryNotifier } from '../../src/store/memory/memory-notifier.js';
import { coreMigrations } from '../../src/store/migrations/core.js';
import type { GrantStore, Stores } from '../../src/store/ports.js';
import { openSqliteStores } from '../../src/store/sqlite/sqlite-stores.js';
import { testCodes } from '../helpers/code-hasher.js';

/**
 * The engine's live counts and caps over a store whose count takes a round-trip (as PostgreSQL's and
 * Redis's do): the real SQLite store, its count answered a few milliseconds late, and counted.
 */
describe('GrantEngine live counts and capacity (real SQLite, count answered late)', () => {
  let stores: Stores;
  let reads = 0;
  let slow: GrantStore;
  beforeAll(async () => {
    stores = await openSqliteStores({ dataDir: mkdtempSync(join(tmpdir(), 'pairgate-capacity-')), migrations: coreMigrations });
    const real = stores.grants;
    slow = Object.create(real) as GrantStore;
    slow.countLive = async (kind, now) => {
      reads++;
      const count = await real.countLive(kind, now);
      await new Promise((resolve) => setTimeout(resolve, 10));
      return count;
    };
  });
  afterAll(() => stores.close());

  const refuse = () => new Error('full');

  it('50 counts asked at once read the store once; a second later, once again', async () => {
    const clock = new ManualClock(Date.now());
    const engine = new GrantEngine(slow, new MemoryNotifier(), clock, testCodes);
    await engine.create({ kind: 'count-once', request: {}, ttlMs: 60_000 });
    reads = 0;
    const counts = await Promise.all(Array.from({ length: 50 }, () => engine.countLive('count-once')));
    expect(new Set(counts)).toEqual(new Set([1]));
    expect(reads).toBe(1);
    clock.advance(1_000);
    await Promise.all(Array.from({ length: 50 }, () => engine.countLive('count-once')));
    expect(reads).toBe(2);
  });

  it('30 creations at once against a capacity of 7: exactly 7 are made, before any count was read', async () => {
    const engine = new GrantEngine(slow, new MemoryNotifier(), new ManualClock(Date.now()), testCodes);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 30 }, () => engine.create({ kind: 'burst', request: {}, ttlMs: 60_000, capacity: { max: 7, refuse } })),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(7);
    const refusals = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(refusals).toHaveLength(23);
    for (const refusal of refusals) expect((refusal.reason as Error).message).toBe('full');
    expect(await stores.grants.countLive('burst', Date.now())).toBe(7);
  });

  it('creations finishing while the count is read are not lost from it: the cap still holds after', async () => {
    const clock = new ManualClock(Date.now());
    const engine = new GrantEngine(slow, new MemoryNotifier(), clock, testCodes);
    for (let i = 0; i < 3; i++) await engine.create({ kind: 'during', request: {}, ttlMs: 60_000, capacity: { max: 5, refuse } });
    clock.advance(1_000);
    // The count is stale: the next creation starts a read, and two more finish while it runs.
    const during = engine.countLive('during');
    await Promise.all([0, 1].map(() => engine.create({ kind: 'during', request: {}, ttlMs: 60_000 })));
    await during;
    expect(await engine.countLive('during')).toBeGreaterThanOrEqual(5);
    await expect(engine.create({ kind: 'during', request: {}, ttlMs: 60_000, capacity: { max: 5, refuse } })).rejects.toThrow('full');
  });
});
