import { Migrator, type Kysely } from 'kysely';
import type { MigrationSet } from './durable-schema.js';

/**
 * Applies every pending migration, in name order. Fails with the name of the migration that broke,
 * so a start-up error says which.
 *
 * Each door migrates tables of its own, so a server that starts with fewer doors (`--relay-only`)
 * and later with all of them, or an upgrade that brings a door whose migrations are named before
 * ones already run, must still apply them: pending migrations run even when named before the last
 * one applied.
 */
export async function migrateToLatest(db: Kysely<unknown>, migrations: MigrationSet): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'pairgate_migrations',
    migrationLockTableName: 'pairgate_migrations_lock',
    allowUnorderedMigrations: true,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((result) => result.status === 'Error');
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${reason}`);
  }
}
