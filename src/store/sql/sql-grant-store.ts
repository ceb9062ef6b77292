import type { Grant, GrantPatch, NewGrant } from '../../core/grant.js';
import type { DurableDb } from '../durable-schema.js';
import { rowToGrant, type GrantRow } from '../grant-rows.js';
import { CodeTakenError, IdTakenError, type GrantStore } from '../ports.js';
import { inBatches, SWEEP_BATCH_ROWS } from './batched-delete.js';
import { countByKind, countLiveQuery, countPendingQuery, deleteQuery, failedAttemptQuery, liveByIdQuery, newGrantRow, redeemQuery, sweepBatchQuery, updateQuery } from './grant-queries.js';

/** Which unique constraint an insert broke, as told by the dialect's error. */
export type UniqueViolation = (error: unknown) => 'code' | 'id' | undefined;

/**
 * Grants in a SQL table through Kysely, for servers that share the database (PostgreSQL): code
 * uniqueness is the database's unique index, and every write is a single conditional statement
 * (`UPDATE ... WHERE version = ? RETURNING`), so compare-and-set and single-use redemption hold
 * across nodes without application locks.
 */
export class SqlGrantStore implements GrantStore {
  /**
   * `sweepBatch`: expired grants one statement of the sweep deletes (tests make it small). Bounded
   * because an unbounded DELETE of a backlog (a node stopped for a day, a flood of creations)
   * outlasted the PostgreSQL pool's 10 s `query_timeout`, rolled back, and failed at every period
   * for ever: see `SWEEP_BATCH_ROWS`.
   */
  constructor(
    private readonly db: DurableDb,
    private readonly uniqueViolation: UniqueViolation,
    private readonly sweepBatch: number = SWEEP_BATCH_ROWS,
  ) {}

  async create<Request>(grant: NewGrant<Request> & { id: string }, now: number): Promise<Grant<Request>> {
    const row = newGrantRow(grant, now);
    try {
      return await this.insert<Request>(row);
    } catch (error) {
      if (this.uniqueViolation(error) !== 'code' || row.code_hash === null) throw this.translate(error);
      // An expired grant may still hold the code until the sweeper runs: free it and try once more.
      const freed = await this.db.deleteFrom('grants').where('code_hash', '=', row.code_hash).where('expires_at', '<=', now).executeTakeFirst();
      if (Number(freed.numDeletedRows) === 0) throw new CodeTakenError();
      try {
        return await this.insert<Request>(row);
      } catch (retryError) {
        throw this.translate(retryError);
      }
    }
  }

  private async insert<Request>(row: GrantRow): Promise<Grant<Request>> {
    return rowToGrant<Request, never>(await this.db.insertInto('grants').values(row).returningAll().executeTakeFirstOrThrow());
  }

  private translate(error: unknown): unknown {
    const which = this.uniqueViolation(error);
    if (which === 'code') return new CodeTakenError();
    if (which === 'id') return new IdTakenError();
    return error;
  }

  async findById<Request, Result>(id: string, now: number): Promise<Grant<Request, Result> | undefined> {
    const row = await liveByIdQuery(this.db, id, now).executeTakeFirst();
    return row ? rowToGrant<Request, Result>(row) : undefined;
  }

  async findByCode<Request, Result>(kind: string, codeHash: string, now: number): Promise<Grant<Request, Result> | undefined> {
    const row = await this.db
      .selectFrom('grants')
      .selectAll()
      .where('code_hash', '=', codeHash)
      .where('kind', '=', kind)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return row ? rowToGrant<Request, Result>(row) : undefined;
  }

  async update<Request, Result>(
    id: string,
    expectedVersion: number,
    patch: GrantPatch<Request, Result>,
    now: number,
  ): Promise<Grant<Request, Result> | undefined> {
    if (patch.codeHash) {
      // As in create: an expired holder of the new code gives it up; a live one makes this a conflict.
      await this.db.deleteFrom('grants').where('code_hash', '=', patch.codeHash).where('expires_at', '<=', now).where('id', '!=', id).execute();
    }
    try {
      const row = await updateQuery(this.db, id, expectedVersion, patch, now).executeTakeFirst();
      return row ? rowToGrant<Request, Result>(row) : undefined;
    } catch (error) {
      if (this.uniqueViolation(error) === 'code') throw new CodeTakenError();
      throw error;
    }
  }

  async redeem<Request, Result>(id: string, now: number): Promise<Grant<Request, Result> | undefined> {
    const row = await redeemQuery(this.db, id, now).executeTakeFirst();
    return row ? rowToGrant<Request, Result>(row) : undefined;
  }

  async recordFailedAttempt(id: string, now: number): Promise<number> {
    const row = await failedAttemptQuery(this.db, id, now).executeTakeFirst();
    return row ? Number(row.attempts) : 0;
  }

  /**
   * Deletes the grants expired at `now`, `sweepBatch` at a time (`inBatches`); returns them
   * counted by kind. Each batch is its own statement, so one that fails keeps the batches before,
   * and each batch's counts are told to `onBatch` once it is deleted.
   */
  async sweepExpired(now: number, onBatch?: (counts: Record<string, number>) => void): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    await inBatches(async (limit) => {
      const rows = await sweepBatchQuery(this.db, now, limit).execute();
      const batch = countByKind(rows);
      for (const [kind, n] of Object.entries(batch)) counts[kind] = (counts[kind] ?? 0) + n;
      if (rows.length > 0) onBatch?.(batch);
      return rows.length;
    }, this.sweepBatch);
    return counts;
  }

  async countLive(kind: string, now: number): Promise<number> {
    const row = await countLiveQuery(this.db, kind, now).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async countPending(kind: string, now: number): Promise<number> {
    const row = await countPendingQuery(this.db, kind, now).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async delete(id: string): Promise<boolean> {
    const result = await deleteQuery(this.db, id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}
