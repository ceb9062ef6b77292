import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { allDoors } from '../../src/doors/index.js';
import { allMigrations } from '../../src/server/open-stores.js';
import { startServer } from '../../src/server/start.js';
import { openSqliteStores } from '../../src/store/sqlite/sqlite-stores.js';

/**
 * A downgrade, or a copy a newer version made restored under an older one: the older server
 * refuses the database (`database_newer_than_server`) and, as docs/backups.md says, changes
 * nothing. It made `pairgate.lock` beside it, and cleared a restored copy's mark and turned it
 * into a WAL database, before it found the newer migration.
 */

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pairgate-newer-db-'));
  dirs.push(dir);
  return dir;
}

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

/** The database of a newer pairgate: every migration of this version and one this version does not know. */
async function newerDatabase(dataDir: string) {
  return openSqliteStores({
    dataDir,
    migrations: {
      ...allMigrations(allDoors),
      '2099010100_from_the_future': {
        async up(db) {
          await db.schema.createTable('from_the_future').addColumn('id', 'text').execute();
        },
      },
    },
  });
}

const start = (dataDir: string) => startServer({ env: { PAIRGATE_DATA_DIR: dataDir, PAIRGATE_PORT: '0', PAIRGATE_LOG_LEVEL: 'silent' } }, allDoors);

describe('a database migrated by a newer version (real SQLite files)', () => {
  it('a copy the newer version made, restored into the data folder: refused, and the folder left exactly as it was', async () => {
    const newer = await newerDatabase(folder());
    const dataDir = folder();
    const restored = join(dataDir, 'pairgate.db');
    await newer.backup!(restored);
    await newer.close();
    const before = sha256(restored);
    await expect(start(dataDir)).rejects.toMatchObject({ code: 'database_newer_than_server' });
    expect(readdirSync(dataDir)).toEqual(['pairgate.db']);
    expect(sha256(restored)).toBe(before);
  });

  it('the newer version\'s own data folder, stopped cleanly: refused, no lock file or WAL left behind', async () => {
    const dataDir = folder();
    await (await newerDatabase(dataDir)).close();
    // As a folder holding only the database would be (pairgate.db moved or copied alone).
    rmSync(join(dataDir, 'pairgate.lock'));
    expect(readdirSync(dataDir)).toEqual(['pairgate.db']);
    await expect(start(dataDir)).rejects.toMatchObject({ code: 'database_newer_than_server' });
    expect(readdirSync(dataDir)).toEqual(['pairgate.db']);
  });

  it('the newer version running on the folder: an older server started on it says the folder is in use (stopping the other settles it), not the version', async () => {
    const dataDir = folder();
    const running = await newerDatabase(dataDir);
    try {
      await expect(start(dataDir)).rejects.toMatchObject({ code: 'data_dir_in_use' });
    } finally {
      await running.close();
    }
    // Stopped, its lock file left behind: the version is what stands in the way.
    expect(readdirSync(dataDir)).toContain('pairgate.lock');
    await expect(start(dataDir)).rejects.toMatchObject({ code: 'database_newer_than_server' });
  });
});
