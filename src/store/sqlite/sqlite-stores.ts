import { accessSync, constants, existsSync, mkdirSync, statfsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, sql } from 'kysely';
import type { Database, MigrationSet } from '../durable-schema.js';
import { MIGRATION_TABLE, migrateToLatest, refuseNewerDatabase, type MigrationReport } from '../migrate.js';
import { MemoryNotifier } from '../memory/memory-notifier.js';
import type { Stores } from '../ports.js';
import type { GrantRow } from '../grant-rows.js';
import { NEW_GRANT_CONSTANTS } from '../sql/grant-queries.js';
import { ConfigError, ConflictError } from '../../core/errors.js';
import { BackgroundCheckpoint } from './background-checkpoint.js';
import { BatchedInsert } from './batched-insert.js';
import { ForeignWriteWatch } from './foreign-writes.js';
import { SqliteEphemeralStore } from './sqlite-ephemeral-store.js';
import { SqliteGrantStore } from './sqlite-grant-store.js';
import { keepOwnerOnly } from './owner-only-files.js';
import { adoptCopy, markAsCopy, refuseForeignWal } from './restored-copy.js';
import { sqliteMigrations } from './sqlite-migrations.js';
import { StatementCache } from './statement-cache.js';
import { TransactionalMigrationsSqliteDialect } from './transactional-migrations.js';

/** Stores of the embedded default: one SQLite file (WAL) and an in-process notifier. */
export type SqliteStores = Stores;

/** Options of the embedded store. */
export interface SqliteStoreOptions {
  /** Folder of the database file; `:memory:` for a private in-memory database. */
  dataDir: string;
  migrations: MigrationSet;
  /**
   * Every migration this version of pairgate knows, those of doors this start leaves out too
   * (`--relay-only`): see `migrateToLatest`. Default: `migrations` only.
   */
  knownMigrations?: ReadonlySet<string>;
  /**
   * When a commit reaches the disk (`PAIRGATE_SQLITE_SYNC`): `normal` (default) at each checkpoint,
   * `full` before the commit is answered.
   */
  sync?: 'normal' | 'full';
}

/**
 * SQLite result codes of a file this process cannot open or write: a folder or database file
 * read-only for this user (`disk I/O error` when the WAL cannot be made beside it), a full disk.
 */
const UNWRITABLE = /^SQLITE_(CANTOPEN|READONLY|IOERR|PERM|FULL)/;

/** The SQLite result code of `error` or of its cause (a failed migration wraps it). */
function sqliteCode(error: unknown): string | undefined {
  for (const candidate of [error, (error as { cause?: unknown } | undefined)?.cause]) {
    const code = (candidate as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string' && code.startsWith('SQLITE_')) return code;
  }
  return undefined;
}

/**
 * True when `path` is on a file system mounted read-only. SQLite says only "unable to open" or
 * "readonly database" there, as for a folder of another user's; access(2) tells them apart, since
 * it answers a write check with EROFS for a read-only mount before any owner or mode is looked at.
 */
function onReadOnlyFileSystem(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EROFS';
  }
}

/**
 * The start-up error for a database file this process cannot open or write (a setting, or a disk,
 * the operator fixes), said with the folder and the user instead of SQLite's bare "disk I/O
 * error"; `error` itself for any other failure. A read-only file system gets its own advice: no
 * chown can make it writable, only another folder.
 */
function explainOpenError(error: unknown, filename: string): unknown {
  const code = sqliteCode(error);
  if (code && UNREADABLE.test(code)) return unreadableFile(error, filename);
  if (!code || !UNWRITABLE.test(code)) return error;
  const remedy = code.startsWith('SQLITE_FULL')
    ? 'free space on its disk, or choose a folder on another disk'
    : [dirname(filename), filename].some(onReadOnlyFileSystem)
      ? 'it is on a read-only file system, which no change of owner or mode can make writable: point --data-dir or PAIRGATE_DATA_DIR at a folder on a writable disk'
      : `let the user running pairgate (uid ${process.getuid?.() ?? '?'}) write to the folder and to the pairgate.db files in it (chown), or choose another folder`;
  const reason = `${(error as Error).message} (${code})`;
  const file = basename(filename) === LOCK_FILE ? 'the lock file' : 'the database';
  return Object.assign(new ConfigError('PAIRGATE_DATA_DIR', `cannot write ${file} ${filename}: ${reason}; ${remedy}`), { cause: error });
}

/** SQLite result codes of a file that is no database (the wrong file restored) or a damaged one. */
const UNREADABLE = /^SQLITE_(NOTADB|CORRUPT)/;

/**
 * The start-up error for a database file that is no SQLite database, or a damaged one: the wrong
 * file restored (a compressed copy, a `.partial` one) or a disk's errors. SQLite's bare "file is not
 * a database" exited 1, the status of a store that may answer later, so a service manager started
 * the server again and again; only the operator can replace the file (a 4xx: `serve` exits 2).
 */
function unreadableFile(error: unknown, filename: string): ConflictError {
  const reason = (error as Error).message;
  const message =
    basename(filename) === LOCK_FILE
      ? `${filename} is not the lock file pairgate makes (${reason}). It holds no data: move it aside while no pairgate server runs on this folder, and start again.`
      : `${filename} is not a SQLite database pairgate can read (${reason}). If you restored a copy, restore a whole one (a pairgate-<time>.db file of the backup folder, not a .partial one, uncompressed; docs/backups.md, Restore); or move the file aside to start with a new, empty database.`;
  return Object.assign(new ConflictError(message, 'database_unreadable'), { cause: error });
}

/** Free space below which the data folder's disk counts as full: SQLite then fails its writes. */
const MIN_FREE_BYTES = 1024 * 1024;

/**
 * Throws when the disk of `dataDir` is (all but) full, so /readyz says why writes fail (each an
 * answer 503 `store_unavailable`) instead of "ready".
 */
function checkFreeSpace(dataDir: string): void {
  let space: { bavail: number; bsize: number };
  try {
    space = statfsSync(dataDir);
  } catch (error) {
    // Said without the folder's path: /readyz answers anyone who asks (the log has the path).
    throw new Error(`the data folder cannot be read (${(error as NodeJS.ErrnoException).code ?? 'unknown error'})`, { cause: error });
  }
  const { bavail, bsize } = space;
  const free = bavail * bsize;
  if (free < MIN_FREE_BYTES) throw new Error(`the disk of the data folder is full (${Math.floor(free / 1024)} KiB free); writes fail until space is freed`);
}

/**
 * The insert of a new grant, whose key order fixes the order of its parameters. The columns every
 * new grant starts with the same value in (NEW_GRANT_CONSTANTS) are SQL literals: better-sqlite3
 * checks and converts each bound value on every run, and a third fewer of them took a tenth off
 * SQLite's CPU per inserted row (batches of 39 rows, as under the creation benchmark).
 */
const INSERT_VALUES = {
  id: '', kind: '', state: sql.lit(NEW_GRANT_CONSTANTS.state), code_hash: null, secret_hash: null, request: '',
  result: sql.lit(NEW_GRANT_CONSTANTS.result), attempts: sql.lit(NEW_GRANT_CONSTANTS.attempts), version: sql.lit(NEW_GRANT_CONSTANTS.version),
  created_at: 0, updated_at: 0, expires_at: 0, owner: null,
};

/** The columns the insert binds, in its parameter order. */
const BOUND_COLUMNS = Object.keys(INSERT_VALUES).filter((column) => !(column in NEW_GRANT_CONSTANTS));

/**
 * A new grant's row as the insert's parameters (BOUND_COLUMNS' order), written out: mapping the
 * column names to values cost more than the rest of the insert's JavaScript (a megamorphic keyed
 * load per column, measured in the creation benchmark's CPU profile). A row that is not a new
 * grant's is refused, since the literals would write over what it holds.
 */
function insertValues(row: GrantRow): unknown[] {
  if (row.state !== NEW_GRANT_CONSTANTS.state || row.result !== NEW_GRANT_CONSTANTS.result || row.attempts !== NEW_GRANT_CONSTANTS.attempts || row.version !== NEW_GRANT_CONSTANTS.version) {
    throw new Error('the SQLite store inserts new pending grants only (rows made by newGrantRow)');
  }
  return [row.id, row.kind, row.code_hash, row.secret_hash, row.request, row.created_at, row.updated_at, row.expires_at, row.owner];
}

// The two orders must agree, or every column would be written into another: checked once, at load.
const namedByColumn = { ...Object.fromEntries(BOUND_COLUMNS.map((column) => [column, column])), ...NEW_GRANT_CONSTANTS } as unknown as GrantRow;
if (insertValues(namedByColumn).join() !== BOUND_COLUMNS.join()) {
  throw new Error('insertValues() does not list the bound grants columns in the order of INSERT_VALUES');
}

/**
 * The page size of a new database file: 4 KiB, SQLite's default, set explicitly because larger
 * pages were measured and refused. Larger pages make the group commits of new grants cheaper (each
 * page a commit changes is one WAL frame of two writes: with 16 KiB pages, under half the write
 * calls per grant and 18% less SQLite CPU per row), but every statement with RETURNING (set-if-
 * absent, counters, take, grant updates) runs with a statement journal that copies each page it
 * changes, and from 8 KiB pages on that journal spilled to a temporary file: such a statement cost
 * 14-20 us instead of 4-7 (the ephemeral store's set-if-absent and increment, 4 December 2026),
 * on paths that run for most requests in the default configuration (the per-address cap on live
 * grants, rate counters). A file made with another size keeps it (SQLite changes the size of an
 * existing file only when it is vacuumed outside WAL mode), and works the same.
 */
export const NEW_DATABASE_PAGE_SIZE = 4_096;

function choosePageSize(sqlite: BetterSqlite3.Database): void {
  // Only takes effect before the file's first page is written; on an existing file it is a no-op.
  sqlite.pragma(`page_size = ${NEW_DATABASE_PAGE_SIZE}`);
}

/** The file beside the database whose lock says which server owns the data folder. */
export const LOCK_FILE = 'pairgate.lock';

/**
 * Makes this process the only server of the data folder, for as long as the returned connection
 * stays open. The stores keep which grant holds each code, and the grants and entries read
 * recently, in memory, which only the database's one writer can do; a second server pointed at the
 * same folder fails at once with a clear error instead. The lock is SQLite's exclusive lock (a
 * byte-range lock, which the system drops when the process ends, however it ends) on a file of
 * its own: the database itself is shared with the thread that checkpoints it (BackgroundCheckpoint).
 */
function lockDataFolder(dataDir: string): BetterSqlite3.Database {
  const lock = new BetterSqlite3(join(dataDir, LOCK_FILE), { timeout: 0 });
  try {
    lock.pragma('locking_mode = EXCLUSIVE');
    // A write transaction takes the exclusive lock, which then stays until the connection closes.
    lock.exec('BEGIN EXCLUSIVE; COMMIT');
  } catch (error) {
    lock.close();
    throw isBusy(error) ? folderInUse(dataDir) : error;
  }
  return lock;
}

/**
 * Whether another process holds the data folder's lock now, found without writing anything (no
 * lock file made, none taken): a read of a lock file another server holds exclusively is busy.
 * Asked when the database is refused as newer, so that an older server started on the folder a
 * newer one runs says the folder is in use, which stopping the other server settles, rather than
 * the version, which downgrading would not.
 */
function heldByAnother(dataDir: string): boolean {
  const path = join(dataDir, LOCK_FILE);
  if (!existsSync(path)) return false;
  let lock: BetterSqlite3.Database | undefined;
  try {
    lock = new BetterSqlite3(path, { readonly: true, fileMustExist: true, timeout: 0 });
    lock.prepare('select count(*) from sqlite_master').get();
    return false;
  } catch (error) {
    return isBusy(error);
  } finally {
    lock?.close();
  }
}

function isBusy(error: unknown): boolean {
  return (error as { code?: string }).code?.startsWith('SQLITE_BUSY') === true;
}

/** A conflict the operator settles (a 4xx: `serve` exits 2, as for other settings to change). */
function folderInUse(dataDir: string): ConflictError {
  return new ConflictError(
    `The data folder ${dataDir} is in use by another pairgate server. Stop it, or give this one its own folder with --data-dir.`,
    'data_dir_in_use',
  );
}

/**
 * The names of the migrations the database has run, read without writing anything (none on a new
 * database).
 */
function executedMigrationNames(sqlite: BetterSqlite3.Database): string[] {
  const table = sqlite.prepare("select 1 from sqlite_master where type = 'table' and name = ?").get(MIGRATION_TABLE);
  if (!table) return [];
  return (sqlite.prepare(`select name from "${MIGRATION_TABLE}"`).all() as { name: string }[]).map((row) => row.name);
}

/**
 * Opens the database file in WAL mode, made with `NEW_DATABASE_PAGE_SIZE` pages when new. A
 * database a newer pairgate migrated is refused first (`refuseNewer`), before anything is written:
 * the change to WAL mode, a restored copy's mark cleared, the lock file beside it.
 */
function openDatabase(filename: string, refuseNewer: (executed: readonly string[]) => void): BetterSqlite3.Database {
  const sqlite = new BetterSqlite3(filename);
  try {
    refuseNewer(executedMigrationNames(sqlite));
    choosePageSize(sqlite);
    sqlite.pragma('journal_mode = WAL');
    adoptCopy(sqlite);
  } catch (error) {
    sqlite.close();
    throw error;
  }
  return sqlite;
}

/** Opens (creating if needed) the SQLite database, applies migrations and returns the stores. */
export async function openSqliteStores(options: SqliteStoreOptions): Promise<SqliteStores> {
  let filename = ':memory:';
  if (options.dataDir !== ':memory:') {
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    filename = join(options.dataDir, 'pairgate.db');
  }
  const migrations = { ...options.migrations, ...sqliteMigrations };
  let sqlite: BetterSqlite3.Database;
  try {
    if (filename !== ':memory:') {
      refuseForeignWal(filename);
      keepOwnerOnly(filename);
    }
    sqlite = openDatabase(filename, (executed) => refuseNewerDatabase(executed, migrations, options.knownMigrations));
  } catch (error) {
    // Busy: a server of an earlier version, which held the database file itself exclusively.
    if (isBusy(error)) throw folderInUse(options.dataDir);
    if ((error as { code?: string }).code === 'database_newer_than_server' && heldByAnother(options.dataDir)) throw folderInUse(options.dataDir);
    throw explainOpenError(error, filename);
  }
  // Taken once the database has opened, so that a folder pairgate cannot write is reported on the
  // database file, as before the lock had a file of its own. Before it is held, only what any server
  // opening the folder writes first can be written: a new file's header and WAL mode, and the
  // cleared mark of a restored copy; the migrations wait for it.
  let lock: BetterSqlite3.Database | undefined;
  if (filename !== ':memory:') {
    try {
      lock = lockDataFolder(options.dataDir);
    } catch (error) {
      sqlite.close();
      throw explainOpenError(error, join(options.dataDir, LOCK_FILE));
    }
  }
  // NORMAL syncs the WAL only at checkpoints (BackgroundCheckpoint, every 100 ms): safe against any
  // crash of the process, and an OS crash or power loss never damages the file, but it loses the
  // commits since the last checkpoint's sync, answered already (a creation's 201, a decision, a
  // redeem, which could then be redeemed again). FULL syncs each group commit on the server's
  // thread (about 2.5 ms each on these machines): NORMAL is the default, the usual trade for an
  // embedded server; an operator who wants nothing answered lost sets PAIRGATE_SQLITE_SYNC=full.
  sqlite.pragma(`synchronous = ${options.sync === 'full' ? 'FULL' : 'NORMAL'}`);
  sqlite.pragma('foreign_keys = ON');
  // Deleted rows are written over with zeros: without it a deleted account's e-mail and every swept
  // row (grants' requests, counters keyed by a client network) stayed readable in the file's bytes.
  // ON, not FAST: FAST zeroes a row inside a page but leaves the pages a delete frees as they were,
  // and a sweep frees whole pages (855 of 1,500 swept grants were still in the file with FAST, none
  // with ON). ON writes each freed page to the WAL once more; measured within noise on group
  // commits of new grants and on sweeps (6 December 2026). The WAL's old frames are another matter:
  // see test/store/sqlite-secure-delete.test.ts.
  sqlite.pragma('secure_delete = ON');
  const statements = new StatementCache(sqlite);
  const db = new Kysely<Database>({ dialect: new TransactionalMigrationsSqliteDialect({ database: { prepare: (sql) => statements.prepare(sql), close: () => sqlite.close() } }) });
  let migrated: MigrationReport;
  try {
    migrated = await migrateToLatest(db as Kysely<unknown>, migrations, options.knownMigrations);
  } catch (error) {
    // Closed, so that a caller that handles the failure is left holding no lock on the folder.
    await db.destroy().catch(() => undefined);
    lock?.close();
    throw explainOpenError(error, filename);
  }
  // A file's WAL is copied into it on a thread of its own (an in-memory database has no WAL).
  const checkpoint = lock ? new BackgroundCheckpoint(sqlite, filename) : undefined;
  const ephemeral = new SqliteEphemeralStore(db, statements);
  // Kysely builds the insert once; better-sqlite3 runs it in group commits. Nothing is returned:
  // the row written is the row the store already has.
  const insertStatement = sqlite.prepare(db.insertInto('grants').values(INSERT_VALUES).compile().sql);
  const batch = new BatchedInsert<GrantRow>(sqlite, (row) => insertStatement.run(insertValues(row)));
  const writeRow = (row: GrantRow): Promise<unknown> => batch.insert(row);
  const notifier = new MemoryNotifier();
  const grants = new SqliteGrantStore(db, statements, writeRow);
  const foreignWrites = lock
    ? new ForeignWriteWatch(sqlite, () => batch.pending === 0 && ephemeral.pending === 0, () => {
        grants.reload();
        ephemeral.reload();
      })
    : undefined;
  return {
    db,
    grants,
    notifier,
    bus: notifier,
    ephemeral,
    sweepEphemeral: (now) => ephemeral.sweep(now),
    migrated,
    async backup(destination) {
      // SQLite's online backup, a few hundred pages per turn of the event loop: requests go on
      // meanwhile, and a page they change is copied again, so the copy is one consistent state.
      await sqlite.backup(destination);
      markAsCopy(destination);
    },
    ...(checkpoint ? { checkpointFailures: () => ({ count: checkpoint.failures, lastError: checkpoint.lastError }) } : {}),
    ...(foreignWrites ? { foreignWrites: () => foreignWrites.detected } : {}),
    async ping() {
      sqlite.prepare('select 1').get();
      if (filename !== ':memory:') checkFreeSpace(options.dataDir);
    },
    async close() {
      foreignWrites?.stop();
      await checkpoint?.stop();
      await db.destroy();
      lock?.close();
    },
  };
}
