import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coreMigrations } from '../../src/store/migrations/core.js';
import { openSqliteStores } from '../../src/store/sqlite/sqlite-stores.js';
import { grantStoreContract } from './contract/grant-store-contract.js';

grantStoreContract('sqlite (file, WAL)', () =>
  openSqliteStores({ dataDir: mkdtempSync(join(tmpdir(), 'pairgate-contract-')), migrations: coreMigrations }),
);

describe('sqlite data folder', () => {
  it('belongs to one server: a second one is refused with a clear error, and the first keeps working', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-owner-'));
    const first = await openSqliteStores({ dataDir, migrations: coreMigrations });
    try {
      await expect(openSqliteStores({ dataDir, migrations: coreMigrations })).rejects.toMatchObject({
        code: 'data_dir_in_use',
        message: expect.stringContaining(dataDir),
      });
      await first.ping();
      // Refused at once, while the first still holds the folder (the outcome is awaited after
      // the first has closed, which takes a moment: its checkpoint thread stops first).
      const second = openSqliteStores({ dataDir, migrations: coreMigrations }).then(() => 'opened', (error: unknown) => error);
      await first.close();
      expect(await second).toMatchObject({ code: 'data_dir_in_use' });
      // Once the first has closed, the folder is free again.
      const third = await openSqliteStores({ dataDir, migrations: coreMigrations });
      await third.close();
    } finally {
      await first.close().catch(() => {});
    }
  });
});
