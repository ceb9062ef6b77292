import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Database, MigrationSet } from '../durable-schema.js';
import { migrateToLatest } from '../migrate.js';
import { MemoryNotifier } from '../memory/memory-notifier.js';
import type { Stores } from '../ports.js';
import { SqlEphemeralStore } from '../sql/sql-ephemeral-store.js';
import { SqlGrantStore, type UniqueViolation } from '../sql/sql-grant-store.js';

/** Stores of the embedded default: one SQLite file (WAL) and an in-process notifier. */
export type SqliteStores = Stores;

/** Options of the embedded store. */
export interface SqliteStoreOptions {
  /** Folder of the database file; `:memory:` for a private in-memory database. */
  dataDir: string;
  migrations: MigrationSet;
}

const sqliteUniqueViolation: UniqueViolation = (error) => {
  const { code, message } = error as { code?: string; message?: string };
  if (code !== 'SQLITE_CONSTRAINT_UNIQUE' && code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') return undefined;
  if (message?.includes('code_hash')) return 'code';
  if (message?.includes('grants.id')) return 'id';
  return undefined;
};

/** Opens (creating if needed) the SQLite database, applies migrations and returns the stores. */
export async function openSqliteStores(options: SqliteStoreOptions): Promise<SqliteStores> {
  let filename = ':memory:';
  if (options.dataDir !== ':memory:') {
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    filename = join(options.dataDir, 'pairgate.db');
  }
  const sqlite = new BetterSqlite3(filename);
  // WAL lets readers run beside the one writer; NORMAL syncs at checkpoints, safe against crashes of
  // the process (not of the OS mid-checkpoint), the usual trade for an embedded server.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  await migrateToLatest(db as Kysely<unknown>, options.migrations);
  const ephemeral = new SqlEphemeralStore(db);
  return {
    db,
    grants: new SqlGrantStore(db, sqliteUniqueViolation),
    notifier: new MemoryNotifier(),
    ephemeral,
    sweepEphemeral: (now) => ephemeral.sweep(now),
    async ping() {
      sqlite.prepare('select 1').get();
    },
    async close() {
      await db.destroy();
    },
  };
}
