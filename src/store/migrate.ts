import { Migrator, sql, type Kysely } from 'kysely';
import { ConflictError } from '../core/errors.js';
import type { MigrationSet } from './durable-schema.js';

/** The table of the migrations a database has run (Kysely's, under pairgate's name). */
export const MIGRATION_TABLE = 'pairgate_migrations';

/** Kysely's refusal of a database that ran a migration its provider does not list. */
const MISSING_MIGRATION = /previously executed migration (\S+) is missing/;

/**
 * Applies every pending migration, in name order. Fails with the name of the migration that broke,
 * so a start-up error says which.
 *
 * Each door migrates tables of its own, so a server that starts with fewer doors (`--relay-only`)
 * and later with all of them, or an upgrade that brings a door whose migrations are named before
 * ones already run, must still apply them: pending migrations run even when named before the last
 * one applied. The other way round, a start with fewer doors on a database the whole server
 * prepared (`--relay-only` after a full start, a relay-only node beside full ones on one
 * PostgreSQL) leaves the other doors' tables as they are: `known` lists every migration of this
 * version, those of doors left out too. A migration run that this version does not know at all
 * was run by a newer pairgate: the start is refused (`database_newer_than_server`), since this
 * version would write rows that the newer tables do not expect.
 */
export async function migrateToLatest(db: Kysely<unknown>, migrations: MigrationSet, known?: ReadonlySet<string>): Promise<MigrationReport> {
  const executed = await executedMigrations(db);
  const leftOut = executed.filter((name) => !(name in migrations));
  refuseNewerDatabase(executed, migrations, known);
  // Already run, so never run again: listed only so that Kysely finds every name it ran.
  const placeholders: MigrationSet = Object.fromEntries(leftOut.map((name) => [name, { up: async () => undefined }]));
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => ({ ...placeholders, ...migrations }) },
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: 'pairgate_migrations_lock',
    allowUnorderedMigrations: true,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    // A newer node migrated between the read above and the lock (a rolling upgrade).
    const missing = error instanceof Error ? MISSING_MIGRATION.exec(error.message)?.[1] : undefined;
    if (missing) refuseNewer([missing]);
    const failed = results?.find((result) => result.status === 'Error');
    const reason = error instanceof Error ? error.message : String(error);
    const what = failed ? `database migration ${failed.migrationName} failed` : 'cannot prepare the database for its migrations';
    throw new Error(`${what}: ${reason}`, { cause: error });
  }
  return { ranBefore: executed.length, applied: (results ?? []).filter((result) => result.status === 'Success').map((result) => result.migrationName) };
}

/** What a start's migrations did to the durable database, for the start-up log. */
export interface MigrationReport {
  /** Migrations the database had run before this start: 0 for a new database. */
  ranBefore: number;
  /** Migrations this start ran, in the order run. */
  applied: readonly string[];
}

/**
 * The start-up log line for `report`, or undefined when nothing ran: a new database prepared, or
 * an existing one upgraded (which an operator should be able to find in the log afterwards, with
 * the migrations' names, rather than learn of it from a changed schema).
 */
export function migrationLogLine(report: MigrationReport | undefined): string | undefined {
  if (!report || report.applied.length === 0) return undefined;
  const count = `${report.applied.length} migration${report.applied.length === 1 ? '' : 's'}`;
  if (report.ranBefore === 0) return `prepared a new database (${count})`;
  return `upgraded the database: ran ${count} (${report.applied.join(', ')}) on a database that had run ${report.ranBefore}`;
}

/** Names of the migrations the database has run; none on a database never migrated. */
async function executedMigrations(db: Kysely<unknown>): Promise<string[]> {
  try {
    const { rows } = await sql<{ name: string }>`select name from ${sql.table(MIGRATION_TABLE)}`.execute(db);
    return rows.map((row) => row.name);
  } catch (error) {
    // No table yet (SQLite's wording, PostgreSQL's undefined_table): a new database.
    const { code, message } = error as { code?: unknown; message?: unknown };
    if (code === '42P01' || (typeof message === 'string' && message.includes('no such table'))) return [];
    throw error;
  }
}

/**
 * Stops a start on a database that ran a migration (of `executed`, the names it ran) that neither
 * `migrations` nor `known` lists: a newer pairgate migrated it (`database_newer_than_server`).
 * `migrateToLatest` checks it; the SQLite store checks it first as well, before it writes anything
 * in the data folder, so a refused database is left exactly as it was.
 */
export function refuseNewerDatabase(executed: readonly string[], migrations: MigrationSet, known?: ReadonlySet<string>): void {
  refuseNewer(executed.filter((name) => !(name in migrations) && !known?.has(name)));
}

/** Stops a start on a database a newer pairgate migrated, saying what to do. */
function refuseNewer(unknown: readonly string[]): void {
  if (unknown.length === 0) return;
  const names = unknown.length > 3 ? `${unknown.slice(0, 3).join(', ')} and ${unknown.length - 3} more` : unknown.join(', ');
  throw new ConflictError(
    `The database was migrated by a newer version of pairgate (migration ${names}, unknown to this version), and this version would write rows its tables do not expect. Start the newer version again, or restore a copy made before the upgrade (docs/backups.md).`,
    'database_newer_than_server',
  );
}
