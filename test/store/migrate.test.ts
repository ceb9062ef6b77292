import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { MigrationSet } from '../../src/store/durable-schema.js';
import { migrateToLatest } from '../../src/store/migrate.js';

const table = (name: string): MigrationSet[string] => ({
  async up(db) {
    await db.schema.createTable(name).addColumn('id', 'text').execute();
  },
});

describe('migrateToLatest', () => {
  it('applies a door that arrives later even when its migrations are named before ones already run', async () => {
    const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new BetterSqlite3(':memory:') }) });
    try {
      // A relay-only server first: core and the relay door.
      await migrateToLatest(db, { '2026112200_core': table('core'), '2026112300_relay': table('relay') });
      // Then the whole server: a door named between them, and one after.
      await migrateToLatest(db, {
        '2026112200_core': table('core'),
        '2026112210_accounts': table('accounts'),
        '2026112300_relay': table('relay'),
        '2026112400_later': table('later'),
      });
      const { rows } = await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'pairgate_%' order by name`.execute(db);
      expect(rows.map((row) => row.name)).toEqual(['accounts', 'core', 'later', 'relay']);
    } finally {
      await db.destroy();
    }
  });

  it('names the migration that failed', async () => {
    const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new BetterSqlite3(':memory:') }) });
    try {
      await expect(migrateToLatest(db, { '2026112200_broken': { up: async (d) => void (await sql`select * from missing`.execute(d)) } })).rejects.toThrow(
        /database migration 2026112200_broken failed: .*missing/,
      );
    } finally {
      await db.destroy();
    }
  });
});
