import { sql } from 'kysely';
import type { GrantPatch, NewGrant } from '../../core/grant.js';
import type { DurableDb } from '../durable-schema.js';
import type { GrantRow } from '../grant-rows.js';

/**
 * The grant store's SQL, written once with Kysely and run by each SQL adapter its own way: the
 * shared store awaits Kysely, the SQLite store runs the same compiled queries synchronously. Every
 * write is one conditional statement, so compare-and-set and single-use hold without locks.
 */

/** The columns of a new grant's row that are the same for every new grant. */
export const NEW_GRANT_CONSTANTS = { state: 'pending', result: null, attempts: 0, version: 1 } as const;

/** The row of a new pending grant. */
export function newGrantRow(grant: NewGrant & { id: string }, now: number): GrantRow {
  return {
    id: grant.id,
    kind: grant.kind,
    state: NEW_GRANT_CONSTANTS.state,
    code_hash: grant.codeHash ?? null,
    secret_hash: grant.secretHash ?? null,
    request: JSON.stringify(grant.request ?? null),
    result: NEW_GRANT_CONSTANTS.result,
    attempts: NEW_GRANT_CONSTANTS.attempts,
    version: NEW_GRANT_CONSTANTS.version,
    created_at: now,
    updated_at: now,
    expires_at: now + grant.ttlMs,
    owner: grant.owner ?? null,
  };
}

/** The live grant `id`. */
export function liveByIdQuery(db: DurableDb, id: string, now: number) {
  return db.selectFrom('grants').selectAll().where('id', '=', id).where('expires_at', '>', now);
}

/** The columns a grant patch can set, in the order their values are bound. */
export type PatchColumn = 'state' | 'request' | 'result' | 'expires_at' | 'code_hash';

/** The columns `patch` sets, with the values stored (JSON as text), in a fixed order. */
export function patchColumns<Request, Result>(patch: GrantPatch<Request, Result>): Partial<Record<PatchColumn, unknown>> {
  const columns: Partial<Record<PatchColumn, unknown>> = {};
  if (patch.state !== undefined) columns.state = patch.state;
  if (patch.request !== undefined) columns.request = JSON.stringify(patch.request);
  if (patch.result !== undefined) columns.result = patch.result === null ? null : JSON.stringify(patch.result);
  if (patch.expiresAt !== undefined) columns.expires_at = patch.expiresAt;
  if (patch.codeHash !== undefined) columns.code_hash = patch.codeHash;
  return columns;
}

/**
 * Sets `columns` on grant `id` if it is live and at `expectedVersion`, counting a new version;
 * returns the new row. The SQLite store compiles it once per set of columns, with sentinels for
 * the values (`updateStatement` there), so `id`, `expectedVersion` and `now` may be sentinels too.
 */
export function updateColumnsQuery(db: DurableDb, id: string, expectedVersion: number | string, columns: Partial<Record<PatchColumn, unknown>>, now: number | string) {
  return db
    .updateTable('grants')
    .set({ version: sql`version + 1`, updated_at: now, ...columns } as never)
    .where('id', '=', id)
    .where('version', '=', expectedVersion as number)
    .where('expires_at', '>', now as number)
    .returningAll();
}

/** Applies `patch` to grant `id` if it is live and at `expectedVersion`; returns the new row. */
export function updateQuery<Request, Result>(db: DurableDb, id: string, expectedVersion: number, patch: GrantPatch<Request, Result>, now: number) {
  return updateColumnsQuery(db, id, expectedVersion, patchColumns(patch), now);
}

/** Moves grant `id` from approved to redeemed if it is live, spending its code; returns the new row. */
export function redeemQuery(db: DurableDb, id: string, now: number) {
  return db
    .updateTable('grants')
    .set({ state: 'redeemed', version: sql`version + 1`, updated_at: now, code_hash: null } as never)
    .where('id', '=', id)
    .where('state', '=', 'approved')
    .where('expires_at', '>', now)
    .returningAll();
}

/** Adds a failed attempt to grant `id`; returns the new count. */
export function failedAttemptQuery(db: DurableDb, id: string, now: number) {
  return db
    .updateTable('grants')
    .set({ attempts: sql`attempts + 1`, updated_at: now } as never)
    .where('id', '=', id)
    .returning('attempts');
}

/**
 * Deletes at most `limit` of the grants expired at `now` (by the index of expiry times); returns
 * what the stores need to forget them. Never the whole backlog in one statement: on SQLite it ran
 * on the event loop and held every request for seconds (a second per 100,000 rows), on PostgreSQL
 * it outlasted the pool's query timeout (see `SWEEP_BATCH_ROWS` in batched-delete.ts). The expiry
 * again on the row deleted: on PostgreSQL the batch is read from the statement's snapshot, and a
 * grant whose expiry an update committed meanwhile extended (`GrantPatch.expiresAt`, live again)
 * was deleted by its id alone once that update let go of the row. (SQLite runs the statement
 * alone; the Redis sweep reads the expiry again too.)
 */
export function sweepBatchQuery(db: DurableDb, now: number, limit: number) {
  return db
    .deleteFrom('grants')
    .where('id', 'in', db.selectFrom('grants').select('id').where('expires_at', '<=', now).limit(limit))
    .where('expires_at', '<=', now)
    .returning(['id', 'kind', 'code_hash']);
}

/** Counts the live grants of `kind`. */
export function countLiveQuery(db: DurableDb, kind: string, now: number) {
  return db
    .selectFrom('grants')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('kind', '=', kind)
    .where('expires_at', '>', now);
}

/** Counts the live grants of `kind` still pending. */
export function countPendingQuery(db: DurableDb, kind: string, now: number) {
  return countLiveQuery(db, kind, now).where('state', '=', 'pending');
}

/** Deletes grant `id`. */
export function deleteQuery(db: DurableDb, id: string) {
  return db.deleteFrom('grants').where('id', '=', id);
}

/** Swept rows counted by kind. */
export function countByKind(rows: readonly { kind: string }[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { kind } of rows) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}
