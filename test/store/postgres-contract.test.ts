import pg from 'pg';
import { afterAll } from 'vitest';
import { PG_LISTENER_NAME } from '../../src/store/postgres/pg-notifier.js';
import { coreMigrations } from '../../src/store/migrations/core.js';
import { openPostgresStores } from '../../src/store/postgres/postgres-stores.js';
import { createTestDatabase, postgresMissing } from '../helpers/services.js';
import { grantStoreContract } from './contract/grant-store-contract.js';

const skip = await postgresMissing();
const drops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const drop of drops) await drop();
});

let database: { url: string } | undefined;
const open = async () => {
  if (!database) {
    const created = await createTestDatabase();
    drops.push(() => created.drop());
    database = created;
  }
  return openPostgresStores({ url: database.url, migrations: coreMigrations });
};

/** Ends the listening connections on the test database (both nodes') and waits until they are gone. */
async function dropListeners(): Promise<void> {
  const admin = new pg.Client({ connectionString: database!.url });
  await admin.connect();
  try {
    const listeners = 'from pg_stat_activity where datname = current_database() and application_name = $1';
    const { rowCount } = await admin.query(`select pg_terminate_backend(pid) ${listeners}`, [PG_LISTENER_NAME]);
    if (!rowCount) throw new Error('no listening connection to drop');
    // Gone before any comes back: a listener reconnects 500 ms after it noticed.
    for (let i = 0; i < 100; i++) {
      const { rows } = await admin.query<{ n: string }>(`select count(*) as n ${listeners}`, [PG_LISTENER_NAME]);
      if (Number(rows[0]!.n) === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw new Error('the listening connections did not go');
  } finally {
    await admin.end();
  }
}

grantStoreContract('postgres (grants, ephemeral and LISTEN/NOTIFY in PostgreSQL)', open, skip, { openPeer: open, dropListeners });
