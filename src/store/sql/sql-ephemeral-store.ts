import type { DurableDb } from '../durable-schema.js';
import { deleteInBatches } from './batched-delete.js';
import { ANY_END, type EphemeralStore } from '../ports.js';
import {
  decrementQuery,
  deleteEntryQuery,
  deleteIfHeldQuery,
  incrementQuery,
  listQuery,
  prefixEnd,
  renewIfHeldQuery,
  setIfAbsentQuery,
  setQuery,
  takeQuery,
} from './ephemeral-queries.js';

/**
 * Ephemeral key-value entries in a SQL table (`ephemeral-queries.ts`: one statement each, so
 * counters stay exact under concurrency). Expired rows are ignored on read and removed by `sweep`.
 */
export class SqlEphemeralStore implements EphemeralStore {
  /** PostgreSQL's table is every node's (the SQLite store, one process's, says otherwise). */
  readonly shared: boolean = true;

  constructor(private readonly db: DurableDb) {}

  async increment(key: string, ttlMs: number, now: number, latestEnd = ANY_END): Promise<{ count: number; resetAt: number }> {
    const row = await incrementQuery(this.db, key, '1', now + ttlMs, now, latestEnd).executeTakeFirstOrThrow();
    return { count: Number(row.value), resetAt: Number(row.expires_at) };
  }

  async decrement(key: string, now: number): Promise<void> {
    await decrementQuery(this.db, key, now).execute();
  }

  async set(key: string, value: string, ttlMs: number, now: number): Promise<void> {
    await setQuery(this.db, key, value, now + ttlMs).execute();
  }

  async setIfAbsent(key: string, value: string, ttlMs: number, now: number): Promise<boolean> {
    return (await setIfAbsentQuery(this.db, key, value, now + ttlMs, now).executeTakeFirst()) !== undefined;
  }

  async get(key: string, now: number): Promise<string | undefined> {
    const row = await this.db.selectFrom('ephemeral').select('value').where('key', '=', key).where('expires_at', '>', now).executeTakeFirst();
    return row?.value;
  }

  async take(key: string, now: number): Promise<string | undefined> {
    const row = await takeQuery(this.db, key).executeTakeFirst();
    return row && Number(row.expires_at) > now ? row.value : undefined;
  }

  async delete(key: string): Promise<void> {
    await deleteEntryQuery(this.db, key).execute();
  }

  async renewIfHeld(key: string, value: string, ttlMs: number, now: number): Promise<boolean> {
    const result = await renewIfHeldQuery(this.db, key, value, now + ttlMs, now).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async deleteIfHeld(key: string, value: string, now: number): Promise<boolean> {
    const result = await deleteIfHeldQuery(this.db, key, value, now).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }

  async list(prefix: string, now: number): Promise<{ key: string; value: string; expiresAt: number }[]> {
    const rows = await listQuery(this.db, prefix, prefixEnd(prefix), now).execute();
    return rows.map((row) => ({ key: row.key, value: row.value, expiresAt: Number(row.expires_at) }));
  }

  /** Deletes expired entries, a batch at a time (`deleteInBatches`); returns how many. */
  async sweep(now: number): Promise<number> {
    return deleteInBatches(this.db, { table: 'ephemeral', key: 'key', where: (eb) => eb('expires_at', '<=', now) });
  }
}
