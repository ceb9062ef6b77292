import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import type { MigrationSet } from '../../src/store/durable-schema.js';
import { coreMigrations } from '../../src/store/migrations/core.js';
import { openSqliteStores } from '../../src/store/sqlite/sqlite-stores.js';
import { ensureBuilt } from '../helpers/node-process.js';

/**
 * An upgrade whose migrations stop half-way (a full disk, a statement that fails, the process
 * killed) must leave the embedded database as it was before them: SQLite runs DDL inside
 * transactions, but Kysely runs SQLite's migrations outside one, so a migration of several
 * statements that stopped after its first left a table made and the migration not recorded, and
 * every start after tried it again and failed ("table ... already exists") until someone mended
 * the file by hand.
 */

/** A door's migration of two statements: a table, then an index on it. */
function twoSteps(fail: () => void): MigrationSet {
  return {
    '2099010100_two_steps': {
      async up(db) {
        await db.schema.createTable('two_steps').addColumn('id', 'text').execute();
        fail();
        await db.schema.createIndex('two_steps_id').on('two_steps').column('id').execute();
      },
    },
  };
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pairgate-migration-atomic-'));
  dirs.push(dir);
  return dir;
}

function tables(dir: string): string[] {
  const db = new BetterSqlite3(join(dir, 'pairgate.db'), { readonly: true });
  try {
    return (db.prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name").all() as { name: string }[]).map((row) => row.name);
  } finally {
    db.close();
  }
}

describe('SQLite migrations stopped half-way (real SQLite file)', () => {
  it('a migration that fails after its first statement leaves nothing of itself, and the next start runs it whole', async () => {
    const dir = dataDir();
    // A first version: the engine's tables.
    await (await openSqliteStores({ dataDir: dir, migrations: coreMigrations })).close();
    const before = tables(dir);
    await expect(
      openSqliteStores({
        dataDir: dir,
        migrations: {
          ...coreMigrations,
          ...twoSteps(() => {
            throw new Error('database or disk is full');
          }),
        },
      }),
    ).rejects.toThrow(/database migration 2099010100_two_steps failed: database or disk is full/);
    expect(tables(dir)).toEqual(before);
    // Space freed: the next start upgrades.
    const stores = await openSqliteStores({ dataDir: dir, migrations: { ...coreMigrations, ...twoSteps(() => undefined) } });
    try {
      expect(stores.migrated?.applied).toEqual(['2099010100_two_steps']);
      const { rows } = await sql<{ name: string }>`select name from sqlite_master where name = 'two_steps_id'`.execute(stores.db);
      expect(rows).toHaveLength(1);
    } finally {
      await stores.close();
    }
  });

  it('a server killed (SIGKILL) in the middle of a migration starts again afterwards, the migration run whole', async () => {
    ensureBuilt();
    const dir = dataDir();
    const dist = join(process.cwd(), 'dist/store');
    // A child process runs the engine's migrations and one of a door that kills the process
    // between its two statements, as kill -9 or a power cut would.
    const child = spawnSync(
      'node',
      [
        '--input-type=module',
        '-e',
        `
        const { openSqliteStores } = await import(${JSON.stringify(join(dist, 'sqlite/sqlite-stores.js'))});
        const { coreMigrations } = await import(${JSON.stringify(join(dist, 'migrations/core.js'))});
        await openSqliteStores({ dataDir: process.argv[1], migrations: { ...coreMigrations, '2099010100_two_steps': { async up(db) {
          await db.schema.createTable('two_steps').addColumn('id', 'text').execute();
          process.kill(process.pid, 'SIGKILL');
          await new Promise(() => undefined);
        } } } });
        `,
        dir,
      ],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(child.signal, child.stderr).toBe('SIGKILL');
    const stores = await openSqliteStores({ dataDir: dir, migrations: { ...coreMigrations, ...twoSteps(() => undefined) } });
    try {
      expect(stores.migrated?.applied).toContain('2099010100_two_steps');
    } finally {
      await stores.close();
    }
  }, 30_000);
});
