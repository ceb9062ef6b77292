import type BetterSqlite3 from 'better-sqlite3';
import type { Grant } from '../../core/grant.js';
import type { DurableDb } from '../durable-schema.js';
import { rowToGrant, type GrantRow } from '../grant-rows.js';
import { SqlGrantStore, type GrantRowInserter, type UniqueViolation } from '../sql/sql-grant-store.js';
import { SqlEphemeralStore } from '../sql/sql-ephemeral-store.js';
import { CompiledStatement } from './compiled-statement.js';

const A = '\u0000a';
const B = '\u0000b';
const C = '\u0000c';

/** The SQL grant store with its look-ups run as statements compiled once (SQLite only). */
export class SqliteGrantStore extends SqlGrantStore {
  private readonly byId: CompiledStatement<GrantRow>;
  private readonly byCode: CompiledStatement<GrantRow>;

  constructor(db: DurableDb, sqlite: BetterSqlite3.Database, uniqueViolation: UniqueViolation, insertRow: GrantRowInserter) {
    super(db, uniqueViolation, insertRow);
    const live = db.selectFrom('grants').selectAll();
    this.byId = new CompiledStatement(sqlite, live.where('id', '=', A).where('expires_at', '>', B as never), [A, B]);
    this.byCode = new CompiledStatement(sqlite, live.where('code_hash', '=', A).where('kind', '=', B).where('expires_at', '>', C as never), [A, B, C]);
  }

  override async findById<Request, Result>(id: string, now: number): Promise<Grant<Request, Result> | undefined> {
    const row = this.byId.get([id, now]);
    return row ? rowToGrant<Request, Result>(row) : undefined;
  }

  override async findByCode<Request, Result>(kind: string, codeHash: string, now: number): Promise<Grant<Request, Result> | undefined> {
    const row = this.byCode.get([codeHash, kind, now]);
    return row ? rowToGrant<Request, Result>(row) : undefined;
  }
}

/** The SQL ephemeral store with its read run as a statement compiled once (SQLite only). */
export class SqliteEphemeralStore extends SqlEphemeralStore {
  private readonly byKey: CompiledStatement<{ value: string }>;

  constructor(db: DurableDb, sqlite: BetterSqlite3.Database) {
    super(db);
    this.byKey = new CompiledStatement(sqlite, db.selectFrom('ephemeral').select('value').where('key', '=', A).where('expires_at', '>', B as never), [A, B]);
  }

  override async get(key: string, now: number): Promise<string | undefined> {
    return this.byKey.get([key, now])?.value;
  }
}
