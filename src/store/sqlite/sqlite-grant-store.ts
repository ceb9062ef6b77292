import type BetterSqlite3 from 'better-sqlite3';
import type { Grant, GrantPatch, NewGrant } from '../../core/grant.js';
import { KeptKeys } from '../../core/kept-keys.js';
import type { DurableDb } from '../durable-schema.js';
import { rowToGrant, type GrantRow } from '../grant-rows.js';
import { CodeTakenError, IdTakenError, OwnerCapError, type GrantStore } from '../ports.js';
import { countByKind, deleteQuery, failedAttemptQuery, liveByIdQuery, newGrantRow, patchColumns, redeemQuery, sweepBatchQuery, updateColumnsQuery, type PatchColumn } from '../sql/grant-queries.js';
import { CodeIndex, codeKey } from './code-index.js';
import { LiveCounts } from './live-counts.js';
import { CompiledStatement } from './compiled-statement.js';
import { outsideTransaction } from './outside-transaction.js';
import { freezeGrant, ReadCache } from './read-cache.js';
import type { StatementCache } from './statement-cache.js';

const A = '\u0000a';
const B = '\u0000b';
const C = '\u0000c';

/**
 * Grants kept in the read cache. A grant lives minutes and is read many times meanwhile (waits,
 * look-ups, the page that shows it), so the recent ones are what is read; about a kilobyte each.
 * Filled by reads only (see `create`).
 */
export const GRANT_CACHE_SIZE = 10_000;

/** Expired grants one statement of the sweep deletes (some ten milliseconds' work). */
export const SWEEP_BATCH = 1_000;

/** Owner keys, kept: every creation looks its owner's up twice (see KeptKeys). */
const OWNER_KEYS = new KeptKeys((kind, owner) => `${kind}\u0000${owner}`);

/** The key of `owner`'s live grants of `kind` in the owners' counts (`\u0000` occurs in neither). */
function ownerKey(kind: string, owner: string): string {
  return OWNER_KEYS.get(kind, owner);
}

/** Writes a new grant row, settling once it is committed; the SQLite store batches these into group commits. */
export type GrantRowWriter = (row: GrantRow) => Promise<unknown>;

/**
 * Grants in SQLite, for the embedded default. The process is the database's only writer (see
 * `lockDataFolder` in sqlite-stores.ts), which lets it keep two things in memory exactly:
 * - which grant holds each live code (`CodeIndex`), instead of a database index whose random keys
 *   dirtied a random page on every insert;
 * - the grants read recently (`ReadCache`), so the look-ups, waits and pages that read a grant
 *   many times in its short life do not go to SQLite each time;
 * - how many grants of each kind, and of each owner, are live (`LiveCounts`), so that a cap per
 *   creator (`NewGrant.ownerCap`) needs no write of its own: the owner is a column of the row.
 * Every statement but the batched insert runs synchronously, in the same turn as the decisions
 * about the code index and the cache around it, so no other request can come between them.
 */
export class SqliteGrantStore implements GrantStore {
  private readonly byId: CompiledStatement<GrantRow>;
  /** The compiled UPDATE of each set of patched columns (a handful: approve, refuse, renew, ...). */
  private readonly updates = new Map<string, CompiledStatement<GrantRow>>();
  /** Grants by id, frozen: callers share them. */
  private readonly cache = new ReadCache<string, Grant<unknown, unknown>>(GRANT_CACHE_SIZE);
  private readonly codes = new CodeIndex();
  private readonly live = new LiveCounts();
  /** The live grants of each kind still pending (`countPending`): a decision takes one out. */
  private readonly pending = new LiveCounts();
  /** Live grants per kind and owner (`ownerKey`): few each, so small queues. */
  private readonly owners = new LiveCounts(4);
  readonly countsOwners = true;
  private readonly sqlite: BetterSqlite3.Database;

  constructor(
    private readonly db: DurableDb,
    private readonly statements: StatementCache,
    private readonly writeRow: GrantRowWriter,
  ) {
    this.sqlite = statements.sqlite;
    this.byId = new CompiledStatement(statements.sqlite, liveByIdQuery(db, A, B as never), [A, B]);
    this.readTable();
  }

  /**
   * Reads again from the table what the store keeps in memory, after another program wrote to the
   * database (see ForeignWriteWatch in foreign-writes.ts). Only between group commits: a creation
   * whose row is still queued holds its code and owner's place in memory alone.
   */
  reload(): void {
    this.cache.clear();
    this.codes.clear();
    this.live.clear();
    this.pending.clear();
    this.owners.clear();
    this.readTable();
  }

  /**
   * Builds the code index, the live counts and the owners' counts from the table. An expired grant
   * may share its code with the live one that took it over; reading in order of expiry leaves the
   * live one holding it. The counts take every row (a count drops the expired ones).
   */
  private readTable(): void {
    const rows = this.statements.all(this.db.selectFrom('grants').select(['id', 'kind', 'state', 'code_hash', 'expires_at', 'owner']).orderBy('expires_at'));
    for (const { id, kind, state, code_hash, expires_at, owner } of rows) {
      if (code_hash !== null) this.codes.hold(code_hash, id);
      this.live.add(kind, Number(expires_at));
      if (state === 'pending') this.pending.add(kind, Number(expires_at));
      if (owner !== null) this.owners.add(ownerKey(kind, owner), Number(expires_at));
    }
  }

  async create<Request>(grant: NewGrant<Request> & { id: string }, now: number): Promise<Grant<Request>> {
    const row = newGrantRow(grant, now);
    const expiresAt = row.expires_at as number;
    // The owner's place is taken before the write, in this same turn, so creations at once never
    // pass the cap together; a creation that fails gives it back.
    const owner = row.owner === null ? undefined : ownerKey(row.kind, row.owner);
    if (owner !== undefined) this.takeOwnerPlace(owner, grant.ownerCap, expiresAt, now);
    try {
      if (row.code_hash !== null) this.claimCode(row.code_hash, row.id, now);
      try {
        await this.writeRow(row);
      } catch (error) {
        if (row.code_hash !== null) this.codes.release(row.code_hash, row.id);
        if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new IdTakenError();
        throw error;
      }
    } catch (error) {
      if (owner !== undefined) this.owners.remove(owner, expiresAt);
      throw error;
    }
    this.live.add(row.kind, expiresAt);
    this.pending.add(row.kind, expiresAt);
    // Not cached: the cache holds grants someone has read. Filled here, a burst of creations (a
    // load test, a client that never comes back) would push out the grants being waited on and
    // looked up; and each cached grant outlives two young-generation collections and is promoted,
    // which cost creation a tenth of its CPU time. The first read fills it, with one SELECT.
    // Frozen all the same, so that every grant the store hands out has the same shape.
    return freezeGrant(rowToGrant<Request, never>(row));
  }

  async findById<Request, Result>(id: string, now: number): Promise<Grant<Request, Result> | undefined> {
    return this.read<Request, Result>(id, now);
  }

  async findByCode<Request, Result>(kind: string, codeHash: string, now: number): Promise<Grant<Request, Result> | undefined> {
    const id = this.codes.holder(codeHash);
    const grant = id === undefined ? undefined : this.read<Request, Result>(id, now);
    // The index keys on part of the hash: the grant must hold the whole of it.
    return grant && grant.codeHash === codeHash && grant.kind === kind ? grant : undefined;
  }

  async update<Request, Result>(id: string, expectedVersion: number, patch: GrantPatch<Request, Result>, now: number): Promise<Grant<Request, Result> | undefined> {
    if (this.sqlite.inTransaction) await outsideTransaction(this.sqlite);
    const before = this.read(id, now);
    if (!before || before.version !== expectedVersion) return undefined;
    const newCode = patch.codeHash !== undefined && patch.codeHash !== before.codeHash ? patch.codeHash : undefined;
    if (newCode) this.claimCode(newCode, id, now);
    const columns = patchColumns(patch);
    const names = Object.keys(columns) as PatchColumn[];
    const row = this.write(id, () => this.updateStatement(names).get([id, expectedVersion, now, ...names.map((name) => columns[name])]));
    if (!row) {
      if (newCode) this.codes.release(newCode, id);
      return undefined;
    }
    if (newCode !== undefined && before.codeHash !== null) this.codes.release(before.codeHash, id);
    this.countPendingChange(before, row);
    if (Number(row.expires_at) !== before.expiresAt) {
      this.live.remove(before.kind, before.expiresAt);
      this.live.add(before.kind, Number(row.expires_at));
      if (row.owner !== null) {
        this.owners.remove(ownerKey(before.kind, row.owner), before.expiresAt);
        this.owners.add(ownerKey(before.kind, row.owner), Number(row.expires_at));
      }
    }
    return rowToGrant<Request, Result>(row);
  }

  async redeem<Request, Result>(id: string, now: number): Promise<Grant<Request, Result> | undefined> {
    if (this.sqlite.inTransaction) await outsideTransaction(this.sqlite);
    const before = this.read(id, now);
    const row = this.write(id, () => this.statements.first(redeemQuery(this.db, id, now)));
    if (!row) return undefined;
    if (before?.codeHash) this.codes.release(before.codeHash, id);
    return rowToGrant<Request, Result>(row);
  }

  async recordFailedAttempt(id: string, now: number): Promise<number> {
    if (this.sqlite.inTransaction) await outsideTransaction(this.sqlite);
    const row = this.write(id, () => this.statements.first(failedAttemptQuery(this.db, id, now)));
    return row ? Number(row.attempts) : 0;
  }

  /**
   * Deletes the grants expired at `now`, `SWEEP_BATCH` at a time with the server's other work in
   * between: the statement runs on the event loop, and a backlog swept at once (a busy server's
   * half minute, or what expired while it was stopped) held every request a second per 100,000.
   */
  async sweepExpired(now: number, onBatch?: (counts: Record<string, number>) => void): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (;;) {
      // Again before each batch: a group commit may have opened a transaction meanwhile.
      if (this.sqlite.inTransaction) await outsideTransaction(this.sqlite);
      const rows = this.statements.all(sweepBatchQuery(this.db, now, SWEEP_BATCH));
      for (const { id, code_hash } of rows) {
        this.cache.invalidate(id);
        if (code_hash !== null) this.codes.release(code_hash, id);
      }
      const batch = countByKind(rows);
      for (const [kind, n] of Object.entries(batch)) counts[kind] = (counts[kind] ?? 0) + n;
      if (rows.length > 0) onBatch?.(batch);
      if (rows.length < SWEEP_BATCH) break;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    // Expired grants have left the counts already (by their time); owners with none live go too.
    this.owners.dropEmpty(now);
    return counts;
  }

  async countLive(kind: string, now: number): Promise<number> {
    return this.live.count(kind, now);
  }

  async countPending(kind: string, now: number): Promise<number> {
    return this.pending.count(kind, now);
  }

  async delete(id: string): Promise<boolean> {
    if (this.sqlite.inTransaction) await outsideTransaction(this.sqlite);
    const before = this.read(id, Number.NEGATIVE_INFINITY);
    const owner = before ? this.statements.first(this.db.selectFrom('grants').select('owner').where('id', '=', id))?.owner : undefined;
    const deleted = this.write(id, () => this.statements.run(deleteQuery(this.db, id))) > 0;
    if (deleted && before?.codeHash) this.codes.release(before.codeHash, id);
    if (deleted && before) this.live.remove(before.kind, before.expiresAt);
    if (deleted && before?.state === 'pending') this.pending.remove(before.kind, before.expiresAt);
    if (deleted && before && owner) this.owners.remove(ownerKey(before.kind, owner), before.expiresAt);
    return deleted;
  }

  /** Owners (per kind) with live grants counted (for tests). */
  get countedOwners(): number {
    return this.owners.size;
  }

  /** Grants held in the read cache (for tests). */
  get cachedGrants(): number {
    return this.cache.size;
  }

  /** Codes held in the index (for tests). */
  get liveCodes(): number {
    return this.codes.size;
  }

  /**
   * Takes `codeHash` for grant `id`, or throws CodeTakenError when a live grant (or one being
   * inserted) holds it. An expired holder gives it up; its row keeps the old hash until the sweep.
   *
   * A holder with no row at all is one being inserted: every path that removes a row (the sweep,
   * `delete`) or fails to write one releases its code, so an index entry without a row is a
   * creation waiting for its group commit. (Tracking those in a set instead cost a Set insertion
   * and deletion on every creation, about 1% of its CPU time under load with the table's rehashing.)
   */
  private claimCode(codeHash: string, id: string, now: number): void {
    const holderId = this.codes.holder(codeHash);
    if (holderId !== undefined && holderId !== id) {
      const holder = this.read(holderId, Number.NEGATIVE_INFINITY);
      if (!holder) throw new CodeTakenError();
      if (holder.expiresAt > now && holder.codeHash && codeKey(holder.codeHash) === codeKey(codeHash)) throw new CodeTakenError();
    }
    this.codes.hold(codeHash, id);
  }

  /** Keeps the pending count true after `before` was written as `row`: decided, or its expiry moved. */
  private countPendingChange(before: Grant<unknown, unknown>, row: GrantRow): void {
    if (before.state !== 'pending') return;
    const expiresAt = Number(row.expires_at);
    if (row.state !== 'pending' || expiresAt !== before.expiresAt) this.pending.remove(before.kind, before.expiresAt);
    if (row.state === 'pending' && expiresAt !== before.expiresAt) this.pending.add(before.kind, expiresAt);
  }

  /**
   * Counts a grant of `owner` (an `ownerKey`) live until `expiresAt`, or throws OwnerCapError when
   * the owner already holds `cap` live grants (creations still being written included).
   */
  private takeOwnerPlace(owner: string, cap: number | undefined, expiresAt: number, now: number): void {
    if (cap !== undefined && this.owners.count(owner, now) >= cap) {
      const firstFree = this.owners.earliestExpiry(owner, now) ?? now;
      throw new OwnerCapError(Math.max(1, firstFree - now));
    }
    this.owners.add(owner, expiresAt);
  }

  /**
   * The UPDATE that sets `names`, compiled once: building and compiling it with Kysely on every
   * approval cost about as much as SQLite's own write. Its arguments: id, expected version, now,
   * then the values of `names` in that order.
   */
  private updateStatement(names: PatchColumn[]): CompiledStatement<GrantRow> {
    const shape = names.join(',');
    let statement = this.updates.get(shape);
    if (!statement) {
      const sentinels = names.map((name) => `\u0000${name}`);
      const columns = Object.fromEntries(names.map((name, i) => [name, sentinels[i]]));
      statement = new CompiledStatement(this.sqlite, updateColumnsQuery(this.db, A, B, columns, C), [A, B, C, ...sentinels]);
      this.updates.set(shape, statement);
    }
    return statement;
  }

  /** The live grant `id`, from the cache or else SQLite (and then cached). */
  private read<Request, Result>(id: string, now: number): Grant<Request, Result> | undefined {
    let grant = this.cache.get(id);
    if (!grant) {
      const row = this.byId.get([id, Number.NEGATIVE_INFINITY]);
      if (!row) return undefined;
      grant = freezeGrant(rowToGrant(row));
      this.cache.fill(id, grant);
    }
    return grant.expiresAt > now ? (grant as Grant<Request, Result>) : undefined;
  }

  /** Runs a write to grant `id`, then forgets what the cache held for it. */
  private write<T>(id: string, statement: () => T): T {
    try {
      return statement();
    } finally {
      this.cache.invalidate(id);
    }
  }
}
