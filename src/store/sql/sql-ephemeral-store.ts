import { sql } from 'kysely';
import type { DurableDb } from '../durable-schema.js';
import type { EphemeralStore } from '../ports.js';

/**
 * Ephemeral key-value entries in a SQL table, for one-node deployments. Each operation is one
 * statement (upserts with `ON CONFLICT`), so counters stay exact under concurrency. Expired rows are
 * ignored on read and removed by `sweep`.
 */
export class SqlEphemeralStore implements EphemeralStore {
  constructor(private readonly db: DurableDb) {}

  async increment(key: string, ttlMs: number, now: number): Promise<{ count: number; resetAt: number }> {
    const row = await this.db
      .insertInto('ephemeral')
      .values({ key, value: '1', expires_at: now + ttlMs })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({
          value: sql`CASE WHEN ephemeral.expires_at <= ${now} THEN '1' ELSE CAST(CAST(ephemeral.value AS integer) + 1 AS text) END`,
          expires_at: sql`CASE WHEN ephemeral.expires_at <= ${now} THEN ${now + ttlMs} ELSE ephemeral.expires_at END`,
        } as never),
      )
      .returning(['value', 'expires_at'])
      .executeTakeFirstOrThrow();
    return { count: Number(row.value), resetAt: Number(row.expires_at) };
  }

  async set(key: string, value: string, ttlMs: number, now: number): Promise<void> {
    await this.db
      .insertInto('ephemeral')
      .values({ key, value, expires_at: now + ttlMs })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value, expires_at: now + ttlMs }))
      .execute();
  }

  async setIfAbsent(key: string, value: string, ttlMs: number, now: number): Promise<boolean> {
    const row = await this.db
      .insertInto('ephemeral')
      .values({ key, value, expires_at: now + ttlMs })
      // Take over only an expired holder of the key.
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({ value, expires_at: now + ttlMs }).where('ephemeral.expires_at', '<=', now),
      )
      .returning('key')
      .executeTakeFirst();
    return row !== undefined;
  }

  async get(key: string, now: number): Promise<string | undefined> {
    const row = await this.db.selectFrom('ephemeral').select('value').where('key', '=', key).where('expires_at', '>', now).executeTakeFirst();
    return row?.value;
  }

  async take(key: string, now: number): Promise<string | undefined> {
    const row = await this.db.deleteFrom('ephemeral').where('key', '=', key).returning(['value', 'expires_at']).executeTakeFirst();
    return row && Number(row.expires_at) > now ? row.value : undefined;
  }

  async delete(key: string): Promise<void> {
    await this.db.deleteFrom('ephemeral').where('key', '=', key).execute();
  }

  async list(prefix: string, now: number): Promise<{ key: string; value: string; expiresAt: number }[]> {
    const rows = await this.db
      .selectFrom('ephemeral')
      .selectAll()
      .where('key', '>=', prefix)
      .where('key', '<', `${prefix}\uffff`)
      .where('expires_at', '>', now)
      .orderBy('key')
      .execute();
    return rows.map((row) => ({ key: row.key, value: row.value, expiresAt: Number(row.expires_at) }));
  }

  /** Deletes expired entries; returns how many. */
  async sweep(now: number): Promise<number> {
    const result = await this.db.deleteFrom('ephemeral').where('expires_at', '<=', now).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
