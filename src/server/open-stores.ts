import type { Door } from '../doors/door.js';
import type { MigrationSet } from '../store/durable-schema.js';
import { coreMigrations } from '../store/migrations/core.js';
import type { Stores } from '../store/ports.js';
import { openSqliteStores } from '../store/sqlite/sqlite-stores.js';
import type { Config } from './config.js';

/** Every migration: the engine's and each door's. */
export function allMigrations(doors: readonly Door[]): MigrationSet {
  const set: MigrationSet = { ...coreMigrations };
  for (const door of doors) {
    for (const [name, migration] of Object.entries(door.migrations ?? {})) {
      if (name in set) throw new Error(`migration ${name} is declared twice`);
      set[name] = migration;
    }
  }
  return set;
}

/**
 * Opens the stores the configuration names: the wiring of adapters to ports happens here and
 * nowhere else. The embedded default is SQLite in the data folder.
 */
export async function openStores(config: Config, doors: readonly Door[]): Promise<Stores> {
  return openSqliteStores({ dataDir: config.PAIRGATE_DATA_DIR, migrations: allMigrations(doors) });
}
