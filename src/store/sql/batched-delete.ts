import { setImmediate as nextTurn } from 'node:timers/promises';
import { sql, type Expression, type ExpressionBuilder, type Kysely, type RawBuilder, type SelectQueryBuilder, type SqlBool } from 'kysely';
import type { Database, DurableDb } from '../durable-schema.js';
import { supportsRowLocks } from './advisory-lock.js';

/**
 * Rows one statement of a periodic sweep deletes, at most. A sweep meets whatever piled up since
 * the last one, and after a node stopped for a day or a flood of creations that is millions of
 * rows: in one statement, SQLite (synchronous, on the event loop) held every request for seconds
 * (a second per 100,000 grants), and PostgreSQL outlasted the pool's 10 s `query_timeout`
 * (`postgres-stores.ts`), rolled back and failed again at every period while the backlog grew. A
 * thousand grants found by their expiry index are some ten milliseconds' work (SQLite's grant
 * store, `SWEEP_BATCH` there); a table with no such index is read until a batch is found.
 */
export const SWEEP_BATCH_ROWS = 1_000;

/** A table of the durable schema. */
type Table = keyof Database & string;

/** The rows of `table` that a sweep deletes. */
export interface SweptRows<T extends Table> {
  table: T;
  /** A column whose value names one row (the primary key). */
  key: keyof Database[T] & string;
  /** Which rows go (expired at the sweep's `now`). */
  where: (eb: ExpressionBuilder<Database, T>) => Expression<SqlBool>;
}

/**
 * Runs `deleteBatch(limit)` until a batch deletes fewer than `limit` rows, with a turn of the event
 * loop between batches (the server's I/O and timers run there); returns how many it deleted in
 * all. A batch comes back short when nothing is left, or when another node deleted the same rows
 * first: then the next sweep goes on where this one stopped. For sweeps whose batch is more than
 * one DELETE (a transaction); others use `deleteInBatches`.
 */
export async function inBatches(deleteBatch: (limit: number) => Promise<number>, limit: number = SWEEP_BATCH_ROWS): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = await deleteBatch(limit);
    total += deleted;
    if (deleted < limit) return total;
    await nextTurn();
  }
}

/**
 * The schema as a Kysely that takes any table and column by name. Kysely cannot check a table and
 * column left generic (its overloads do not resolve); `SweptRows` ties them together instead.
 */
type LooseDb = Kysely<Record<string, Record<string, unknown>>>;

/**
 * On PostgreSQL, the keys `batch` selects, its rows locked `FOR UPDATE SKIP LOCKED`, as the right
 * side of `key = ...` (`= ANY(ARRAY(batch))`): the sweep never waits for a row another transaction
 * holds. A many-row delete over the same expired rows (an organization's deletion, an account's
 * cascade, a box's records deleted at a name) locks them in the order of its own plan, the sweep in
 * the order of its own, and each waited for a row the other held (40P01). A row skipped is being
 * deleted or written by its holder; one left over goes at the next sweep. `ARRAY(...)` runs the
 * batch once, before the DELETE: as `key IN (batch)` the planner may run it again for every row
 * (a nested loop), and each run skips the rows the DELETE has just deleted and takes the next, so a
 * statement deleted past its `LIMIT` (a DNS sweep's batch of 1,000 took 1,001). SQLite has one
 * writer at a time, and no FOR UPDATE: there `key IN (batch)`.
 */
export function skippingLocked<O>(batch: SelectQueryBuilder<never, never, O>): RawBuilder<O[keyof O]> {
  return sql<O[keyof O]>`any(array(${batch.forUpdate().skipLocked()}))`;
}

/**
 * The keys of at most `limit` of `rows` (`SELECT key FROM table WHERE ... LIMIT limit`), for a
 * `WHERE key IN (...)` (or on PostgreSQL `skippingLocked`): PostgreSQL's DELETE has no LIMIT of its
 * own, and this form runs on both.
 */
function sweptKeys<T extends Table>(db: DurableDb, rows: SweptRows<T>, limit: number) {
  const { table, key }: { table: string; key: string } = rows;
  return (db as unknown as LooseDb).selectFrom(table).select(key).where(rows.where as never).limit(limit);
}

/**
 * Deletes `rows` at most `limit` a statement (`DELETE FROM table WHERE key IN (SELECT key ... LIMIT
 * limit)`, which SQLite and PostgreSQL both run; on PostgreSQL skipping the rows others hold,
 * `skippingLocked`), with a turn of the event loop between statements (`inBatches`); returns how
 * many went.
 */
export async function deleteInBatches<T extends Table>(db: DurableDb, rows: SweptRows<T>, limit: number = SWEEP_BATCH_ROWS): Promise<number> {
  return inBatches(async (n) => {
    const { table, key }: { table: string; key: string } = rows;
    // The condition again on the DELETE itself: on PostgreSQL the keys are read from the
    // statement's snapshot, and a row renewed by another connection meanwhile was deleted by key
    // alone; the row the DELETE deletes is read again against the condition.
    const keys = sweptKeys(db, rows, n);
    const batch = (db as unknown as LooseDb).deleteFrom(table);
    const named = supportsRowLocks(db) ? batch.where(key, '=', skippingLocked(keys as never)) : batch.where(key, 'in', keys);
    const result = await named.where(rows.where as never).executeTakeFirst();
    return Number(result.numDeletedRows);
  }, limit);
}
