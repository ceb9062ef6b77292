import { SqliteAdapter, SqliteDialect, type DialectAdapter } from 'kysely';

/**
 * Kysely's SQLite dialect, with the migrations of a start run in one transaction.
 *
 * Kysely's SQLite adapter says SQLite has no transactional DDL, so its migrator ran each statement
 * of each migration on its own: a migration of several statements stopped after its first (a full
 * disk, a failing statement, the process killed) left its first table made and itself not
 * recorded, and every start after ran it again and failed ("table ... already exists") until the
 * file was mended by hand. SQLite does run CREATE, ALTER and DROP inside transactions, so the
 * pending migrations and their records are committed together or not at all; a start stopped
 * half-way leaves the database as the previous version left it, and the next start runs them
 * again from the start. Only the migrator asks the adapter this question.
 */
export class TransactionalMigrationsSqliteDialect extends SqliteDialect {
  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}

class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}
