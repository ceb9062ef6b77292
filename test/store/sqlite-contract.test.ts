import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coreMigrations } from '../../src/store/migrations/core.js';
import { openSqliteStores } from '../../src/store/sqlite/sqlite-stores.js';
import { grantStoreContract } from './contract/grant-store-contract.js';

grantStoreContract('sqlite (file, WAL)', () =>
  openSqliteStores({ dataDir: mkdtempSync(join(tmpdir(), 'pairgate-contract-')), migrations: coreMigrations }),
);
