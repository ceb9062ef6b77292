import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe } from 'vitest';
import type { DurableDb, MigrationSet } from '../../src/store/durable-schema.js';
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

/** A PostgreSQL database of a test file's own, open from its `beforeAll` to its `afterAll`. */
export interface PostgresStoresInTest {
  /** The stores on it (no cross-node notifier). */
  stores(): Stores;
  /** Its Kysely handle (`stores().db`). */
  db(): DurableDb;
  /** Its connection URL, for a second connection of the test's own (one holding rows, say). */
  url(): string;
  /**
   * A second pool on it whose queries plan as on a large table (sequential and bitmap scans off):
   * a test's few rows are otherwise read whole, in one order, and a lock-order bug needs the
   * index's order to show. Only when `usePostgresStores` was asked for it.
   */
  planned(): DurableDb;
}

/**
 * Registers, in the enclosing `describe`, a `beforeAll` that makes a fresh PostgreSQL database
 * migrated with `migrations` and opens stores on it, and an `afterAll` that closes them and drops
 * the database. For PostgreSQL-only tests (lock order, row locks); the caller skips the describe
 * where `postgresMissing()` says why. `plannedPool` opens `planned()` with that many connections.
 */
export function usePostgresStores(migrations: MigrationSet, options: { plannedPool?: number } = {}): PostgresStoresInTest {
  let stores: Stores | undefined;
  let planned: DurableDb | undefined;
  const plannedClosed: Promise<void>[] = [];
  let url = '';
  let drop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const database = await createTestDatabase();
    drop = () => database.drop();
    url = database.url;
    stores = await openPostgresStores({ url, migrations, notify: false });
    if (options.plannedPool) {
      const pool = new pg.Pool({ connectionString: url, max: options.plannedPool, options: '-c enable_seqscan=off -c enable_bitmapscan=off' });
      // The pool's end resolves before its connections have closed: the database dropped WITH
      // (FORCE) then ended one still open, an uncaught 57P01 failing the file. Waited for below.
      pool.on('connect', (client) => plannedClosed.push(new Promise((resolve) => client.once('end', resolve))));
      planned = new Kysely({ dialect: new PostgresDialect({ pool }) });
    }
  });
  afterAll(async () => {
    await planned?.destroy();
    await Promise.all(plannedClosed);
    await stores?.close();
    await drop?.();
  });
  const open = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is open only between the file's beforeAll and afterAll`);
    return value;
  };
  return {
    stores: () => open(stores, 'the PostgreSQL store'),
    db: () => open(stores, 'the PostgreSQL store').db,
    url: () => open(url || undefined, 'the PostgreSQL database'),
    planned: () => open(planned, 'the planned pool (pass plannedPool)'),
  };
}
