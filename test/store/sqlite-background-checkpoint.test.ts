import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { BACKSTOP_CHECKPOINT_PAGES, BackgroundCheckpoint } from '../../src/store/sqlite/background-checkpoint.js';
import { LOCK_FILE, openSqliteStores } from '../../src/store/sqlite/sqlite-stores.js';
import { coreMigrations } from '../../src/store/migrations/core.js';

const MiB = 1024 * 1024;
/** One row: a blob of two 4 KiB pages. */
const ROW = Buffer.alloc(8 * 1024, 7);

const opened: { sqlite: BetterSqlite3.Database; checkpoint: BackgroundCheckpoint }[] = [];

/** A WAL database as the SQLite store opens one, with the background checkpoint running on it. */
function walDatabase(): { sqlite: BetterSqlite3.Database; checkpoint: BackgroundCheckpoint; filename: string } {
  const filename = join(mkdtempSync(join(tmpdir(), 'pairgate-checkpoint-')), 'pairgate.db');
  const sqlite = new BetterSqlite3(filename);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.exec('create table blobs (id integer primary key, body blob not null)');
  const checkpoint = new BackgroundCheckpoint(sqlite, filename);
  opened.push({ sqlite, checkpoint });
  return { sqlite, checkpoint, filename };
}

/**
 * Writes `rows` rows in group commits of 10 (80 KiB), one every 2 ms or so: 40 MiB a second, several
 * times what a creation load writes, and without a pause.
 */
async function writeRows(sqlite: BetterSqlite3.Database, rows: number): Promise<void> {
  const insert = sqlite.prepare('insert into blobs (body) values (?)');
  const commit = sqlite.transaction((count: number) => {
    for (let i = 0; i < count; i++) insert.run(ROW);
  });
  for (let written = 0; written < rows; written += 10) {
    commit(10);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/**
 * Waits until `check` holds, for up to 30 s (the thread runs every 100 ms, slower on a busy
 * machine: a CI run's fsyncs held one copy past 10 s). Each test that waits allows 60 s in all.
 */
async function eventually(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!check() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
}

afterEach(async () => {
  for (const { sqlite, checkpoint } of opened.splice(0)) {
    await checkpoint.stop();
    sqlite.close();
  }
});

describe('BackgroundCheckpoint', () => {
  it('copies the WAL into the database on its own thread, and the WAL file stops growing under a steady load', async () => {
    const { sqlite, checkpoint, filename } = walDatabase();
    // 80 MiB of rows without a pause: SQLite itself would not checkpoint before the backstop
    // (62 MiB of 4 KiB pages), and a WAL that never starts again would grow up to there.
    await writeRows(sqlite, 10_000);
    await eventually(() => statSync(filename).size > 75 * MiB);
    expect(BACKSTOP_CHECKPOINT_PAGES * 4096).toBeGreaterThan(60 * MiB);
    expect(statSync(`${filename}-wal`).size).toBeLessThan(40 * MiB);
    // The rows are in the database file itself, not only in the WAL.
    expect(statSync(filename).size).toBeGreaterThan(75 * MiB);
    // The server's thread copied the tails that let the WAL start again.
    expect(checkpoint.finishedRounds).toBeGreaterThan(0);
    expect(checkpoint.lastError).toBeUndefined();
    expect(checkpoint.failures).toBe(0);
    expect(sqlite.prepare('select count(*) as n from blobs').get()).toEqual({ n: 10_000 });
  }, 60_000);

  it('copies what was written before an idle moment, without the server thread taking part', async () => {
    const { sqlite, checkpoint, filename } = walDatabase();
    await writeRows(sqlite, 500); // 4 MiB: under the WAL length from which the server's thread takes part
    const before = statSync(filename).size;
    await eventually(() => statSync(filename).size - before > 3.5 * MiB);
    expect(statSync(filename).size - before).toBeGreaterThan(3.5 * MiB);
    expect(checkpoint.finishedRounds).toBe(0);
  }, 60_000);

  it("keeps going when the server thread's share fails, and says why", async () => {
    const { sqlite, checkpoint, filename } = walDatabase();
    // A checkpoint that fails for real (a full disk, a broken file) cannot be arranged here: the
    // server thread's pragma is made to throw, the thread's own checkpoints stay real.
    const pragma = sqlite.pragma.bind(sqlite);
    sqlite.pragma = ((source: string, options?: BetterSqlite3.PragmaOptions) => {
      if (source.startsWith('wal_checkpoint')) throw new Error('disk I/O error');
      return pragma(source, options);
    }) as typeof sqlite.pragma;
    await writeRows(sqlite, 3_000); // 24 MiB: past the WAL length from which the server thread takes part
    await eventually(() => checkpoint.lastError !== undefined);
    expect(checkpoint.lastError).toBe('disk I/O error');
    expect(checkpoint.failures).toBeGreaterThan(0);
    expect(checkpoint.finishedRounds).toBe(0);
    // The background thread goes on copying.
    const before = statSync(filename).size;
    await writeRows(sqlite, 500);
    await eventually(() => statSync(filename).size - before > 3.5 * MiB);
    expect(statSync(filename).size - before).toBeGreaterThan(3.5 * MiB);
  }, 60_000);

  it('leaves the checkpoints to SQLite again once stopped', async () => {
    const { sqlite, checkpoint } = walDatabase();
    expect(sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(BACKSTOP_CHECKPOINT_PAGES);
    await checkpoint.stop();
    expect(sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
  });
});

describe('the SQLite data folder lock', () => {
  it('is a file of its own, so the checkpoint thread can open the database', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-lock-'));
    const stores = await openSqliteStores({ dataDir, migrations: coreMigrations });
    try {
      expect(statSync(join(dataDir, LOCK_FILE)).isFile()).toBe(true);
      // The database is not held exclusively: another connection can read it (the checkpoint thread does).
      const reader = new BetterSqlite3(join(dataDir, 'pairgate.db'), { readonly: true, timeout: 0 });
      try {
        expect(reader.prepare('select count(*) as n from grants').get()).toEqual({ n: 0 });
      } finally {
        reader.close();
      }
    } finally {
      await stores.close();
    }
  });
});
