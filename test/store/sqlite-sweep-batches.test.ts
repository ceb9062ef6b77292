import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { randomId } from '../../src/core/ids.js';
import { coreMigrations } from '../../src/store/migrations/core.js';
import { SWEEP_BATCH } from '../../src/store/sqlite/sqlite-grant-store.js';
import { openSqliteStores } from '../../src/store/sqlite/sqlite-stores.js';
import { hashCode } from '../helpers/code-hasher.js';

/**
 * The SQLite sweep runs on the event loop: a backlog of expired grants is deleted a batch at a
 * time, with the server's other work in between, not in one statement that held every request
 * (a second per 100,000 rows).
 */
describe('sqlite grant store: the sweep of a backlog', () => {
  it('deletes every expired grant, counted by kind, yielding to other work between batches', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-sweep-batches-'));
    const stores = await openSqliteStores({ dataDir, migrations: coreMigrations });
    const now = Date.now();
    const expired = 2 * SWEEP_BATCH + 500;
    try {
      await Promise.all(Array.from({ length: expired }, (_, i) =>
        stores.grants.create({ id: randomId(), kind: i % 2 ? 'odd' : 'even', request: {}, ttlMs: 1_000, codeHash: hashCode('sweep', `code-${i}`) }, now)));
      const kept = await stores.grants.create({ id: randomId(), kind: 'even', request: {}, ttlMs: 60_000, codeHash: hashCode('sweep', 'kept') }, now);

      let swept = false;
      let ranDuring = false;
      // Queued before the sweep starts: it runs during the sweep only if the sweep lets the loop turn.
      setImmediate(() => {
        ranDuring = !swept;
      });
      const told: Record<string, number>[] = [];
      const counts = await stores.grants.sweepExpired(now + 2_000, (batch) => told.push(batch)).finally(() => {
        swept = true;
      });
      expect(ranDuring).toBe(true);
      expect(counts).toEqual({ even: Math.ceil(expired / 2), odd: Math.floor(expired / 2) });
      // Each batch told as it went (the metrics count them so), together the whole.
      expect(told).toHaveLength(3);
      expect(told.reduce((sum, batch) => sum + (batch.even ?? 0) + (batch.odd ?? 0), 0)).toBe(expired);
      expect(await stores.grants.findById(kept.id, now + 2_000)).toMatchObject({ id: kept.id });
      expect(await stores.grants.sweepExpired(now + 2_000)).toEqual({});
    } finally {
      await stores.close();
    }
    const file = new BetterSqlite3(join(dataDir, 'pairgate.db'), { readonly: true });
    try {
      expect(file.prepare('select count(*) from grants').pluck().get()).toBe(1);
    } finally {
      file.close();
    }
  });
});
