import { sql } from 'kysely';
import pg from 'pg';
import { toPairgateError } from '../../src/server/error-handler.js';
import type { DurableDb } from '../../src/store/durable-schema.js';

/**
 * What the lock-order tests share: two writes raced over the same rows on PostgreSQL, round after
 * round, the second started a few milliseconds after the first, and what became of each.
 */

/** How many rounds race, and how many run at once; the second write starts 0 to `RACE_SHIFTS - 1` ms after the first. */
export const RACE_ROUNDS = 48;
export const RACE_AT_ONCE = 8;
export const RACE_SHIFTS = 8;

/** Resolves after `ms` milliseconds. */
export const later = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * What became of one racing call: `done`, the machine code of a 4xx refusal, or for anything else
 * its status, code and the database's code with the error (a deadlock reads `503 store_conflict
 * 40P01 ...`).
 */
export async function outcomeOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'done';
  } catch (error) {
    const { error: answered } = toPairgateError(error);
    if (answered.status < 500) return answered.code;
    return `${answered.status} ${answered.code} ${(error as { code?: string }).code ?? ''} ${String(error)}`;
  }
}

/** The deadlocks PostgreSQL broke in the current database so far. */
export async function deadlocks(db: DurableDb): Promise<number> {
  const { rows } = await sql<{ deadlocks: string }>`select deadlocks from pg_stat_database where datname = current_database()`.execute(db);
  return Number(rows[0]?.deadlocks);
}

/** Runs `round(i)` for each of `RACE_ROUNDS` rounds, `RACE_AT_ONCE` at a time; their results in order. */
export async function raceRounds<T>(round: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let start = 0; start < RACE_ROUNDS; start += RACE_AT_ONCE) {
    results.push(...(await Promise.all(Array.from({ length: Math.min(RACE_AT_ONCE, RACE_ROUNDS - start) }, (_, k) => round(start + k)))));
  }
  return results;
}

/** How many of the current database's connections wait for a lock now (read outside any transaction). */
export async function lockWaiters(db: DurableDb): Promise<number> {
  const { rows } = await sql<{ n: string }>`select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(db);
  return Number(rows[0]?.n);
}

/** Rows a second connection holds in an open transaction until `release()`. */
export interface HeldRows {
  /** The holding connection, for more statements inside its transaction. */
  client: pg.Client;
  /** Commits the transaction and closes the connection; later calls do nothing. */
  release(): Promise<void>;
}

/**
 * Opens a connection of its own to `url`, begins a transaction and runs `query` in it (a `SELECT
 * ... FOR UPDATE` of the rows to hold, say), so that a test can start a write, see it wait for
 * those rows (`lockWaiters`), and then let it go on: a forced interleaving rather than a race.
 * Call `release()` in a `finally`.
 */
export async function holdRows(url: string, query: string, params: unknown[] = []): Promise<HeldRows> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    try {
      await client.query('commit');
    } finally {
      await client.end();
    }
  };
  try {
    await client.query('begin');
    await client.query(query, params);
  } catch (error) {
    await client.end();
    throw error;
  }
  return { client, release };
}

/**
 * Polls until more than `already` of the database's connections wait for a lock (true), or until
 * `answered()` says the call the test started has ended without waiting (false). Throws after
 * `timeoutMs`: the call never asked for the lock the test holds.
 */
export async function untilWaiting(db: DurableDb, { already = 0, answered = () => false, timeoutMs = 5_000 }: { already?: number; answered?: () => boolean; timeoutMs?: number } = {}): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await lockWaiters(db)) > already) return true;
    if (answered()) return false;
    if (Date.now() > deadline) throw new Error(`no connection waited for a lock within ${timeoutMs} ms`);
    await later(10);
  }
}

/**
 * A forced interleaving of two writes, the one a deadlock needs: a connection of the test holds a
 * row (`hold`: its query and parameters), `first` is started and waits for it, `second` is started
 * and waits too (for what `first` holds, before a fix), then the row is let go. What became of each
 * (`outcomeOf`). `secondMayEnd`: `second` may also end without waiting (a sweep that skips what is
 * held), rather than be the database's second waiter.
 */
export async function heldInterleaving(
  db: DurableDb,
  url: string,
  hold: { query: string; params: unknown[] },
  first: () => Promise<unknown>,
  second: () => Promise<unknown>,
  { secondMayEnd = false }: { secondMayEnd?: boolean } = {},
): Promise<{ first: string; second: string }> {
  const holder = await holdRows(url, hold.query, hold.params);
  try {
    const firstOutcome = outcomeOf(first());
    await untilWaiting(db);
    let secondEnded = false;
    const secondOutcome = outcomeOf(second()).finally(() => {
      secondEnded = true;
    });
    const waited = await untilWaiting(db, { already: 1, answered: () => secondEnded });
    if (!waited && !secondMayEnd) throw new Error(`the second write ended without waiting: ${await secondOutcome}`);
    await holder.release();
    return { first: await firstOutcome, second: await secondOutcome };
  } finally {
    await holder.release();
  }
}
