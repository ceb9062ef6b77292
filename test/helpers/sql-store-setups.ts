import { afterAll, afterEach, beforeEach, describe } from 'vitest';
import type { MigrationSet } from '../../src/store/durable-schema.js';
import type { Stores } from '../../src/store/ports.js';
import { openPostgresStores } from '../../src/store/postgres/postgres-stores.js';
import { openSqliteStores } from '../../src/store/sqlite/sqlite-stores.js';
import { createTestDatabase, postgresMissing } from './services.js';

/** One durable store to run a test on: its name, why it is skipped here (if it is), and how to open it. */
export interface SqlStoreSetup {
  name: string;
  skip?: string;
  /** Stores on a fresh database (in memory for SQLite, a new database for PostgreSQL) migrated with the set given. */
  open(): Promise<Stores>;
}

/**
 * The embedded SQLite store and PostgreSQL (skipped with its reason where it does not answer),
 * each opened on a fresh database migrated with `migrations`; the PostgreSQL databases made are
 * dropped after the file's tests. For tests of a door's tables on both durable stores.
 */
export async function sqlStoreSetups(migrations: MigrationSet): Promise<SqlStoreSetup[]> {
  const pgSkip = await postgresMissing();
  const drops: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const drop of drops) await drop();
  });
  return [
    { name: 'SQLite', open: () => openSqliteStores({ dataDir: ':memory:', migrations }) },
    {
      name: 'PostgreSQL',
      ...(pgSkip ? { skip: pgSkip } : {}),
      async open() {
        const database = await createTestDatabase();
        drops.push(() => database.drop());
        return openPostgresStores({ url: database.url, migrations, notify: false });
      },
    },
  ];
}

/**
 * Declares, for each of `setups`, a `describe` named `title` on the store's name (with why it is
 * skipped, where it is) whose tests each run on stores of their own, opened before the test and
 * closed after it. `body` declares the tests; inside one, `stores()` gives the test's stores.
 */
export function describeOnEachStore(setups: SqlStoreSetup[], title: string, body: (stores: () => Stores) => void): void {
  for (const setup of setups) {
    describe.skipIf(Boolean(setup.skip))(`${title} on ${setup.name}${setup.skip ? ` (skipped: ${setup.skip})` : ''}`, () => {
      let opened: Stores | undefined;
      beforeEach(async () => {
        opened = await setup.open();
      });
      afterEach(async () => {
        await opened?.close();
        opened = undefined;
      });
      body(() => {
        if (!opened) throw new Error('the stores are open only while a test runs');
        return opened;
      });
    });
  }
}
