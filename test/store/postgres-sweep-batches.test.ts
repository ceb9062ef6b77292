import { afterAll, describe, expect, it } from 'vitest';
import { randomId } from '../../src/core/ids.js';
import { coreMigrations } from '../../src/store/migrations/core.js';
import { openPostgresStores } from '../../src/store/postgres/postgres-stores.js';
import { newGrantRow } from '../../src/store/sql/grant-queries.js';
import { SqlGrantStore } from '../../src/store/sql/sql-grant-store.js';
import { DeleteCounter } from '../helpers/delete-counter.js';
import { createTestDatabase, postgresMissing } from '../helpers/services.js';

/**
 * The PostgreSQL grant store sweeps a backlog of expired grants a batch at a time: one DELETE of
 * them all outlasted the pool's 10 s query timeout once large enough (a node stopped for a day),
 * rolled back, and failed at every sweep for ever.
 */
const skip = await postgresMissing();
const drops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const drop of drops) await drop();
});

describe.skipIf(Boolean(skip))(`postgres grant store: the sweep of a backlog${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('deletes the expired grants in statements of at most the batch size, counted by kind, the live ones kept', async () => {
    const database = await createTestDatabase();
    drops.push(() => database.drop());
    const stores = await openPostgresStores({ url: database.url, migrations: coreMigrations, notify: false });
    try {
      const now = Date.now();
      const expired = Array.from({ length: 7 }, (_, i) => newGrantRow({ id: randomId(), kind: i % 2 ? 'odd' : 'even', request: {}, ttlMs: 1_000 }, now));
      const live = newGrantRow({ id: randomId(), kind: 'even', request: {}, ttlMs: 60_000 }, now);
      await stores.db.insertInto('grants').values([...expired, live]).execute();
      const counter = new DeleteCounter();
      const grants = new SqlGrantStore(stores.db.withPlugin(counter), () => undefined, 3);

      expect(await grants.sweepExpired(now + 2_000)).toEqual({ even: 4, odd: 3 });
      // 3, 3, then 1: the short batch ends the sweep.
      expect(counter.deletes).toBe(3);
      const left = await stores.db.selectFrom('grants').select('id').execute();
      expect(left.map((row) => row.id)).toEqual([live.id]);
      expect(await grants.sweepExpired(now + 2_000)).toEqual({});
    } finally {
      await stores.close();
    }
  });

  it('tells each batch as it is deleted, so a sweep failing midway has told the batches before it', async () => {
    const database = await createTestDatabase();
    drops.push(() => database.drop());
    const stores = await openPostgresStores({ url: database.url, migrations: coreMigrations, notify: false });
    try {
      const now = Date.now();
      const expired = Array.from({ length: 7 }, () => newGrantRow({ id: randomId(), kind: 'pair', request: {}, ttlMs: 1_000 }, now));
      await stores.db.insertInto('grants').values(expired).execute();
      const grants = new SqlGrantStore(stores.db.withPlugin(new DeleteCounter(3)), () => undefined, 3);
      const told: Record<string, number>[] = [];
      await expect(grants.sweepExpired(now + 2_000, (counts) => told.push(counts))).rejects.toThrow('DELETE number 3 failed');
      // Two batches of 3 went before the third failed: told, as they are gone (the metrics count them).
      expect(told).toEqual([{ pair: 3 }, { pair: 3 }]);
      expect(await stores.db.selectFrom('grants').select('id').execute()).toHaveLength(1);
    } finally {
      await stores.close();
    }
  });
});
