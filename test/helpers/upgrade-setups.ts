import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MigrationSet } from '../../src/store/durable-schema.js';
import type { Stores } from '../../src/store/ports.js';
import { openPostgresStores } from '../../src/store/postgres/postgres-stores.js';
import { openSqliteStores } from '../../src/store/sqlite/sqlite-stores.js';
import { createTestDatabase, postgresMissing } from './services.js';

/** One durable database, to be opened again and again with the migrations of each version. */
export interface UpgradeDatabase {
  /** The stores on that database, after `migrations` ran. */
  open(migrations: MigrationSet): Promise<Stores>;
  drop(): Promise<void>;
}

/** A kind of durable database an upgrade test runs on; `skip` says why it cannot run here. */
export interface UpgradeSetup {
  name: string;
  skip?: string;
  make(): Promise<UpgradeDatabase>;
}

/**
 * SQLite (in a new folder named after `prefix`) and PostgreSQL (a new database), for tests that
 * write a database as an earlier version's migrations left it and open it again with all of them.
 */
export async function upgradeSetups(prefix: string): Promise<UpgradeSetup[]> {
  return [
    {
      name: 'SQLite',
      async make() {
        const dataDir = mkdtempSync(join(tmpdir(), prefix));
        return { open: (migrations) => openSqliteStores({ dataDir, migrations }), drop: async () => undefined };
      },
    },
    {
      name: 'PostgreSQL',
      skip: await postgresMissing(),
      async make() {
        const database = await createTestDatabase();
        return { open: (migrations) => openPostgresStores({ url: database.url, migrations }), drop: () => database.drop() };
      },
    },
  ];
}
