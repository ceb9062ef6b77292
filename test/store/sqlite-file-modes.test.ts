import { chmodSync, mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { coreMigrations } from '../../src/store/migrations/core.js';
import type { Stores } from '../../src/store/ports.js';
import { openSqliteStores } from '../../src/store/sqlite/sqlite-stores.js';

/** The permission bits of `file` (e.g. 0o600). */
const modeOf = (file: string): number => statSync(file).mode & 0o777;

/** A data folder that existed before pairgate, open to everyone's reading (mode 755, as `mkdir -p` under umask 022 makes it). */
function openFolder(): string {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'pairgate-modes-')), 'data');
  mkdirSync(dataDir);
  chmodSync(dataDir, 0o755);
  return dataDir;
}

/**
 * The database's files are the owner's alone (mode 600) whatever the umask and the folder's mode:
 * they hold hashes of live codes, chat and sealed tokens, and in a folder pairgate did not make
 * itself (mode 700) they were readable by every local user.
 */
describe('sqlite stores: the database files are readable by their owner only', () => {
  let stores: Stores | undefined;
  afterEach(async () => {
    await stores?.close();
    stores = undefined;
  });

  async function writeSomething(s: Stores): Promise<void> {
    await s.ephemeral.set('note', 'secret-ish', 600_000, Date.now());
  }

  it('a new database, its log and its shared memory are made mode 600 under a umask that would make them 644', async () => {
    const dataDir = openFolder();
    const umask = process.umask(0o022);
    try {
      stores = await openSqliteStores({ dataDir, migrations: coreMigrations });
    } finally {
      process.umask(umask);
    }
    await writeSomething(stores);
    for (const file of ['pairgate.db', 'pairgate.db-wal', 'pairgate.db-shm']) expect(modeOf(join(dataDir, file)), file).toBe(0o600);
  });

  it('an existing database opened to others is closed to them when the server opens it', async () => {
    const dataDir = openFolder();
    stores = await openSqliteStores({ dataDir, migrations: coreMigrations });
    await writeSomething(stores);
    await stores.close();
    stores = undefined;
    chmodSync(join(dataDir, 'pairgate.db'), 0o644);
    stores = await openSqliteStores({ dataDir, migrations: coreMigrations });
    await writeSomething(stores);
    for (const file of ['pairgate.db', 'pairgate.db-wal', 'pairgate.db-shm']) expect(modeOf(join(dataDir, file)), file).toBe(0o600);
  });
});
