import { sql } from 'kysely';
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
