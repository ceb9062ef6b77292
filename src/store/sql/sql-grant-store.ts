import { sql } from 'kysely';
import type { Grant, GrantPatch, NewGrant } from '../../core/grant.js';
import type { DurableDb } from '../durable-schema.js';
import { rowToGrant, type GrantRow } from '../grant-rows.js';
import { CodeTakenError, IdTakenError, type GrantStore } from '../ports.js';

/** Inserts one grant row and returns the stored row; an adapter may batch these. */
export type GrantRowInserter = (row: GrantRow) => Promise<GrantRow>;

/** Which unique constraint an insert broke, as told by the dialect's error. */
export type UniqueViolation = (error: unknown) => 'code' | 'id' | undefined;

/**
 * Grants in a SQL table through Kysely: one implementation for SQLite and PostgreSQL. Every write
 * is a single conditional statement (`UPDATE ... WHERE version = ? RETURNING`), so compare-and-set
 * and single-use redemption hold under concurrent callers without application locks.
 */
export class SqlGrantStore implements GrantStore {
  constructor(
    private readonly db: DurableDb,
    private readonly uniqueViolation: UniqueViolation,
    /** How rows are inserted; by default one Kysely statement each. */
    private readonly insertRow: GrantRowInserter = (row) => db.insertInto('grants').values(row).returningAll().executeTakeFirstOrThrow(),
  ) {}

  async create<Request>(grant: NewGrant<Request> & { id: string }, now: number): Promise<Grant<Request>> {
    const row: GrantRow = {
      id: grant.id,
      kind: grant.kind,
      state: 'pending',
      code_hash: grant.codeHash ?? null,
      secret_hash: grant.secretHash ?? null,
      request: JSON.stringify(grant.request ?? null),
      result: null,
      attempts: 0,
      version: 1,
      created_at: now,
      updated_at: now,
      expires_at: now + grant.ttlMs,
    };
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
    return rowToGrant<Request, never>(await this.insertRow(row));
  }

  private translate(error: unknown): unknown {
    const which = this.uniqueViolation(error);
    if (which === 'code') return new CodeTakenError();
    if (which === 'id') return new IdTakenError();
    return error;
  }

  async findById<Request, Result>(id: string, now: number): Promise<Grant<Request, Result> | undefined> {
    const row = await this.db.selectFrom('grants').selectAll().where('id', '=', id).where('expires_at', '>', now).executeTakeFirst();
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
    const set: Partial<GrantRow> & { version: ReturnType<typeof sql> } = {
      version: sql`version + 1`,
      updated_at: now,
    } as never;
    if (patch.state !== undefined) set.state = patch.state;
    if (patch.request !== undefined) set.request = JSON.stringify(patch.request);
    if (patch.result !== undefined) set.result = patch.result === null ? null : JSON.stringify(patch.result);
    if (patch.expiresAt !== undefined) set.expires_at = patch.expiresAt;
    if (patch.codeHash !== undefined) set.code_hash = patch.codeHash;
    if (patch.codeHash) {
      // As in create: an expired holder of the new code gives it up; a live one makes this a conflict.
      await this.db.deleteFrom('grants').where('code_hash', '=', patch.codeHash).where('expires_at', '<=', now).where('id', '!=', id).execute();
    }
    try {
      const row = await this.db
        .updateTable('grants')
        .set(set as never)
        .where('id', '=', id)
        .where('version', '=', expectedVersion)
        .where('expires_at', '>', now)
        .returningAll()
        .executeTakeFirst();
      return row ? rowToGrant<Request, Result>(row) : undefined;
    } catch (error) {
      if (this.uniqueViolation(error) === 'code') throw new CodeTakenError();
      throw error;
    }
  }

  async redeem<Request, Result>(id: string, now: number): Promise<Grant<Request, Result> | undefined> {
    const row = await this.db
      .updateTable('grants')
      .set({ state: 'redeemed', version: sql`version + 1`, updated_at: now, code_hash: null } as never)
      .where('id', '=', id)
      .where('state', '=', 'approved')
      .where('expires_at', '>', now)
      .returningAll()
      .executeTakeFirst();
    return row ? rowToGrant<Request, Result>(row) : undefined;
  }

  async recordFailedAttempt(id: string, now: number): Promise<number> {
    const row = await this.db
      .updateTable('grants')
      .set({ attempts: sql`attempts + 1`, updated_at: now } as never)
      .where('id', '=', id)
      .returning('attempts')
      .executeTakeFirst();
    return row ? Number(row.attempts) : 0;
  }

  async sweepExpired(now: number): Promise<Record<string, number>> {
    const rows = await this.db.deleteFrom('grants').where('expires_at', '<=', now).returning('kind').execute();
    const counts: Record<string, number> = {};
    for (const { kind } of rows) counts[kind] = (counts[kind] ?? 0) + 1;
    return counts;
  }

  async countLive(kind: string, now: number): Promise<number> {
    const row = await this.db
      .selectFrom('grants')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('kind', '=', kind)
      .where('expires_at', '>', now)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('grants').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}
