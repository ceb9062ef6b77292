import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { MigrationSet } from '../../src/store/durable-schema.js';
import { migrateToLatest, migrationLogLine } from '../../src/store/migrate.js';

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

  it('starts with fewer doors on a database the whole server prepared, leaving the other tables as they are', async () => {
    const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new BetterSqlite3(':memory:') }) });
    const whole = { '2026112200_core': table('core'), '2026112210_accounts': table('accounts'), '2026112300_relay': table('relay') };
    try {
      await migrateToLatest(db, whole);
      await sql`insert into accounts (id) values ('kept')`.execute(db);
      // --relay-only: core and the relay; the accounts door is known to this version but left out.
      await migrateToLatest(db, { '2026112200_core': whole['2026112200_core'], '2026112300_relay': whole['2026112300_relay'] }, new Set(Object.keys(whole)));
      // And the whole server again: nothing run twice, nothing lost.
      await migrateToLatest(db, whole);
      const { rows } = await sql<{ id: string }>`select id from accounts`.execute(db);
      expect(rows).toEqual([{ id: 'kept' }]);
    } finally {
      await db.destroy();
    }
  });

  it('refuses a database a newer version migrated, saying what to do, and changes nothing', async () => {
    const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new BetterSqlite3(':memory:') }) });
    try {
      await migrateToLatest(db, { '2026112200_core': table('core'), '2099010100_future': table('future') });
      await expect(migrateToLatest(db, { '2026112200_core': table('core'), '2026112300_new_here': table('new_here') })).rejects.toMatchObject({
        code: 'database_newer_than_server',
        status: 409,
        message: expect.stringMatching(/migrated by a newer version of pairgate \(migration 2099010100_future, unknown to this version\).*restore a copy made before the upgrade/),
      });
      // Refused before anything ran: this version's own pending migration did not touch the database.
      const { rows } = await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name = 'new_here'`.execute(db);
      expect(rows).toEqual([]);
    } finally {
      await db.destroy();
    }
  });

  it('names no migration when none ran but the migration table could not be made', async () => {
    const raw = new BetterSqlite3(':memory:');
    raw.pragma('query_only = ON');
    const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: raw }) });
    try {
      await expect(migrateToLatest(db, { '2026112200_core': table('core') })).rejects.toThrow(/^cannot prepare the database for its migrations: attempt to write a readonly database/);
    } finally {
      await db.destroy();
    }
  });
  it('reports what it ran, for the start-up log: a new database prepared, an existing one upgraded, nothing when current', async () => {
    const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new BetterSqlite3(':memory:') }) });
    try {
      const first = await migrateToLatest(db, { '2026112200_core': table('core') });
      expect(first).toEqual({ ranBefore: 0, applied: ['2026112200_core'] });
      expect(migrationLogLine(first)).toBe('prepared a new database (1 migration)');
      const upgrade = await migrateToLatest(db, { '2026112200_core': table('core'), '2026112210_accounts': table('accounts'), '2026112400_later': table('later') });
      expect(upgrade).toEqual({ ranBefore: 1, applied: ['2026112210_accounts', '2026112400_later'] });
      expect(migrationLogLine(upgrade)).toBe('upgraded the database: ran 2 migrations (2026112210_accounts, 2026112400_later) on a database that had run 1');
      const again = await migrateToLatest(db, { '2026112200_core': table('core'), '2026112210_accounts': table('accounts'), '2026112400_later': table('later') });
      expect(again).toEqual({ ranBefore: 3, applied: [] });
      expect(migrationLogLine(again)).toBeUndefined();
    } finally {
      await db.destroy();
    }
  });
});
