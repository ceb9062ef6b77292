import { afterAll } from 'vitest';
import { coreMigrations } from '../../src/store/migrations/core.js';
import { openPostgresStores } from '../../src/store/postgres/postgres-stores.js';
import { createTestDatabase, postgresMissing } from '../helpers/services.js';
import { grantStoreContract } from './contract/grant-store-contract.js';

const skip = await postgresMissing();
const drops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const drop of drops) await drop();
});

grantStoreContract('postgres (grants, ephemeral and LISTEN/NOTIFY in PostgreSQL)', async () => {
  const database = await createTestDatabase();
  drops.push(() => database.drop());
  return openPostgresStores({ url: database.url, migrations: coreMigrations });
}, skip);
