import { describe, expect, it } from 'vitest';
import { coreMigrations } from '../../src/store/migrations/core.js';
import { deleteInBatches, inBatches, type SweptRows } from '../../src/store/sql/batched-delete.js';
import { DeleteCounter } from '../helpers/delete-counter.js';
import { holdRows, later } from '../helpers/lock-races.js';
import { postgresMissing } from '../helpers/services.js';
import { describeOnEachStore, sqlStoreSetups, usePostgresStores } from '../helpers/sql-store-setups.js';

const pgSkip = await postgresMissing();

const setups = await sqlStoreSetups(coreMigrations);

/**
 * The sweeps' batched delete: a backlog goes `limit` rows a statement, with the event loop free
 * between statements (SQLite runs each on it; PostgreSQL would time one long statement out), never
 * in one statement for all.
 */
describeOnEachStore(setups, 'deleteInBatches', (stores) => {
  const now = 1_000_000;
  const expired: SweptRows<'ephemeral'> = { table: 'ephemeral', key: 'key', where: (eb) => eb('expires_at', '<=', now) };

  it('deletes the matching rows in statements of at most `limit`, the others kept, yielding between them', async () => {
    const rows = [
      ...Array.from({ length: 25 }, (_, i) => ({ key: `old|${i}`, value: 'x', expires_at: now - i })),
      ...Array.from({ length: 3 }, (_, i) => ({ key: `live|${i}`, value: 'x', expires_at: now + 1 + i })),
    ];
    await stores().db.insertInto('ephemeral').values(rows).execute();
    const counter = new DeleteCounter();
    let swept = false;
    let ranDuring = false;
    // Queued before the sweep starts: it runs during the sweep only if the sweep lets the loop turn.
    setImmediate(() => {
      ranDuring = !swept;
    });
    const deleted = await deleteInBatches(stores().db.withPlugin(counter), expired, 10).finally(() => {
      swept = true;
    });
    expect(deleted).toBe(25);
    // 10, 10, then 5: the short batch ends the sweep.
    expect(counter.deletes).toBe(3);
    expect(ranDuring).toBe(true);
    const left = await stores().db.selectFrom('ephemeral').select('key').orderBy('key').execute();
    expect(left.map((row) => row.key)).toEqual(['live|0', 'live|1', 'live|2']);
  });

  it('runs one more statement when the backlog is a whole number of batches, and one for none', async () => {
    await stores().db.insertInto('ephemeral').values(Array.from({ length: 20 }, (_, i) => ({ key: `old|${i}`, value: 'x', expires_at: now }))).execute();
    const counter = new DeleteCounter();
    expect(await deleteInBatches(stores().db.withPlugin(counter), expired, 10)).toBe(20);
    expect(counter.deletes).toBe(3);
    expect(await deleteInBatches(stores().db.withPlugin(counter), expired, 10)).toBe(0);
    expect(counter.deletes).toBe(4);
  });
});

describe('inBatches', () => {
  it('adds up the batches and stops at the first short one', async () => {
    const batches = [4, 4, 4, 1, 4];
    const limits: number[] = [];
    const total = await inBatches(async (limit) => {
      limits.push(limit);
      return batches.shift()!;
    }, 4);
    expect(total).toBe(13);
    expect(limits).toEqual([4, 4, 4, 4]);
  });
});

/**
 * A row renewed while a sweep's batch runs (PostgreSQL, another connection holding the row): the
 * batch picked its keys from what was expired when it began, and a DELETE by key alone then
 * deleted the renewed row once its lock was let go. The batch now skips a row held (below), and
 * the condition is read again on the row the DELETE deletes all the same.
 */
describe.skipIf(Boolean(pgSkip))(`deleteInBatches and a row renewed meanwhile, PostgreSQL${pgSkip ? ` (skipped: ${pgSkip})` : ''}`, () => {
  const { db, url } = usePostgresStores(coreMigrations);

  it('keeps a row renewed by another connection while the sweep ran', async () => {
    const now = 1_000_000;
    await db().insertInto('ephemeral').values([{ key: 'renewed', value: 'x', expires_at: now - 1 }, { key: 'gone', value: 'x', expires_at: now - 1 }]).execute();
    const other = await holdRows(url(), 'UPDATE ephemeral SET expires_at = $1 WHERE key = $2', [now + 60_000, 'renewed']);
    try {
      const sweep = deleteInBatches(db(), { table: 'ephemeral', key: 'key', where: (eb) => eb('expires_at', '<=', now) }, 10);
      // Before, the sweep's DELETE was waiting for the renewed row's lock by now; it skips it.
      await later(300);
      await other.release();
      expect(await sweep).toBe(1);
      const left = await db().selectFrom('ephemeral').select(['key', 'expires_at']).execute();
      expect(left.map((row) => [row.key, Number(row.expires_at)])).toEqual([['renewed', now + 60_000]]);
    } finally {
      await other.release();
    }
  });
});

/**
 * A sweep's batch and a row another connection holds (PostgreSQL). A many-row delete over the same
 * expired rows (an organization's deletion, an account's cascade) locks them in the order of its
 * plan, the sweep in the order of its own: a sweep that waited for a row the other held, holding
 * rows the other then waited for, deadlocked (40P01). The batch now locks its rows `FOR UPDATE SKIP
 * LOCKED`: it never waits, and a row held is left to its holder (or to the next sweep).
 */
describe.skipIf(Boolean(pgSkip))(`deleteInBatches and a row another connection holds, PostgreSQL${pgSkip ? ` (skipped: ${pgSkip})` : ''}`, () => {
  const { db, url } = usePostgresStores(coreMigrations);

  it('does not wait for it: returns at once, the held row left, the others deleted batch after batch', async () => {
    const now = 1_000_000;
    await db().insertInto('ephemeral').values(['a', 'b', 'held', 'c', 'd', 'e'].map((key) => ({ key, value: 'x', expires_at: now - 1 }))).execute();
    const holder = await holdRows(url(), 'SELECT key FROM ephemeral WHERE key = $1 FOR UPDATE', ['held']);
    try {
      const sweep = deleteInBatches(db(), { table: 'ephemeral', key: 'key', where: (eb) => eb('expires_at', '<=', now) }, 2);
      // Before, the sweep waited for the held row until its holder ended.
      const outcome = await Promise.race([sweep, later(3_000).then(() => 'still waiting after 3 s')]);
      const left = await db().selectFrom('ephemeral').select('key').execute();
      await holder.release();
      await sweep;
      expect(outcome).toBe(5);
      expect(left.map((row) => row.key)).toEqual(['held']);
    } finally {
      await holder.release();
    }
  });
});
