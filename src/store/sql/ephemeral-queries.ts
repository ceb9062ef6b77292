import { sql } from 'kysely';
import type { DurableDb } from '../durable-schema.js';

/**
 * The ephemeral store's SQL, written once with Kysely and run by each SQL adapter its own way (as
 * `grant-queries.ts` is for grants): `SqlEphemeralStore` awaits Kysely, the SQLite store compiles
 * each query once and runs it synchronously. Every operation is one statement (upserts with
 * `ON CONFLICT`), so counters and set-if-absent stay exact under concurrency.
 */

/**
 * Adds one to the counter `key` (starting it at `first` when absent or expired, with the end
 * `expiresAt`); returns its value and end. A live counter ending later than `latestEnd` (a window
 * opened by a clock since stepped back) takes the end `expiresAt` and keeps its count, in the same
 * statement, so increments racing it on other connections are neither lost nor restarted twice.
 */
export function incrementQuery(db: DurableDb, key: string, first: string, expiresAt: number, now: number, latestEnd: number) {
  return db
    .insertInto('ephemeral')
    .values({ key, value: first, expires_at: expiresAt })
    .onConflict((oc) =>
      oc.column('key').doUpdateSet({
        value: sql`CASE WHEN ephemeral.expires_at <= ${now} THEN ${first} ELSE CAST(CAST(ephemeral.value AS integer) + 1 AS text) END`,
        expires_at: sql`CASE WHEN ephemeral.expires_at <= ${now} OR ephemeral.expires_at > ${latestEnd} THEN ${expiresAt} ELSE ephemeral.expires_at END`,
      } as never),
    )
    .returning(['value', 'expires_at']);
}

/**
 * Takes one from the live counter `key`, keeping its end; nothing when it is absent, expired or at
 * zero (an attempt counted in a count that has since lapsed must not eat into a new one).
 */
export function decrementQuery(db: DurableDb, key: string, now: number) {
  return db
    .updateTable('ephemeral')
    .set({ value: sql`CAST(CAST(value AS integer) - 1 AS text)` } as never)
    .where('key', '=', key)
    .where('expires_at', '>', now)
    .where(sql<boolean>`CAST(value AS integer) > 0`);
}

/** Sets `key` to `value` until `expiresAt`, whatever it held. */
export function setQuery(db: DurableDb, key: string, value: string, expiresAt: number) {
  return db
    .insertInto('ephemeral')
    .values({ key, value, expires_at: expiresAt })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value, expires_at: expiresAt }));
}

/**
 * Sets `key` unless a live entry holds it (an expired one is taken over), returning nothing: the
 * count of rows it changed (1 or 0) says whether it set the key. For SQLite, where RETURNING costs
 * a statement journal (about 1.2 us a statement with 4 KiB pages, 14 us with 8 KiB or more).
 */
export function setIfAbsentWrite(db: DurableDb, key: string, value: string, expiresAt: number, now: number) {
  return db
    .insertInto('ephemeral')
    .values({ key, value, expires_at: expiresAt })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value, expires_at: expiresAt }).where('ephemeral.expires_at', '<=', now));
}

/** Sets `key` unless a live entry holds it (an expired one is taken over); returns the key when set. */
export function setIfAbsentQuery(db: DurableDb, key: string, value: string, expiresAt: number, now: number) {
  return setIfAbsentWrite(db, key, value, expiresAt, now).returning('key');
}

/** Deletes `key`, returning what it held (the caller checks its end). */
export function takeQuery(db: DurableDb, key: string) {
  return db.deleteFrom('ephemeral').where('key', '=', key).returning(['value', 'expires_at']);
}

/**
 * Moves the end of `key` to `expiresAt` while a live entry holds `value`; the count of rows it
 * changed (1 or 0) says whether it did. One statement: no other writer comes between the check and
 * the write.
 */
export function renewIfHeldQuery(db: DurableDb, key: string, value: string, expiresAt: number, now: number) {
  return db.updateTable('ephemeral').set({ expires_at: expiresAt }).where('key', '=', key).where('value', '=', value).where('expires_at', '>', now);
}

/** Deletes `key` while a live entry holds `value`; the count of rows it deleted says whether it did. */
export function deleteIfHeldQuery(db: DurableDb, key: string, value: string, now: number) {
  return db.deleteFrom('ephemeral').where('key', '=', key).where('value', '=', value).where('expires_at', '>', now);
}

/** Deletes `key`. */
export function deleteEntryQuery(db: DurableDb, key: string) {
  return db.deleteFrom('ephemeral').where('key', '=', key);
}

/** The live entries whose keys are from `from` (included) to `to` (excluded), in key order. */
export function listQuery(db: DurableDb, from: string, to: string, now: number) {
  return db.selectFrom('ephemeral').selectAll().where('key', '>=', from).where('key', '<', to).where('expires_at', '>', now).orderBy('key');
}

/** The end of the key range of the keys that start with `prefix`. */
export function prefixEnd(prefix: string): string {
  return `${prefix}\uffff`;
}
