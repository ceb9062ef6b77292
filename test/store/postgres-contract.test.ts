import { afterAll } from 'vitest';
import { coreMigrations } from '../../src/store/migrations/core.js';
import { openPostgresStores } from '../../src/store/postgres/postgres-stores.js';
import { createTestDatabase, dropPgListeners, postgresMissing } from '../helpers/services.js';
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

grantStoreContract('postgres (grants, ephemeral and LISTEN/NOTIFY in PostgreSQL)', open, skip, { openPeer: open, dropListeners: () => dropPgListeners(database!.url) });
