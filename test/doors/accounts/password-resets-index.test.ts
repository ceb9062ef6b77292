import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { accountsMigrations } from '../../../src/doors/accounts/migrations.js';
import { PasswordResets } from '../../../src/doors/accounts/password-resets.js';
import { UserStore } from '../../../src/doors/accounts/users.js';
import type { MigrationSet } from '../../../src/store/durable-schema.js';
import { coreMigrations } from '../../../src/store/migrations/core.js';
import type { Stores } from '../../../src/store/ports.js';
import { openPostgresStores } from '../../../src/store/postgres/postgres-stores.js';
import { openSqliteStores } from '../../../src/store/sqlite/sqlite-stores.js';
import { createTestDatabase, postgresMissing } from '../../helpers/services.js';

/** The migration that adds the index. */
const MIGRATION = '2026121300_accounts_password_resets_user';

/** One database (SQLite in a folder, a PostgreSQL database) opened with the migrations given, and how to read its plan or indexes. */
const setups: { name: string; skip?: string; make(): Promise<{ open(migrations: MigrationSet): Promise<Stores>; drop(): Promise<void> }>; usesIndex(stores: Stores): Promise<boolean> }[] = [
  {
    name: 'SQLite',
    async make() {
      const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-resets-index-'));
      return { open: (migrations) => openSqliteStores({ dataDir, migrations }), drop: async () => undefined };
    },
    // The plan of `endAll`'s delete: a search by the index, not a scan of the table.
    async usesIndex(stores) {
      const plan = await sql<{ detail: string }>`EXPLAIN QUERY PLAN DELETE FROM password_resets WHERE user_id = ${'someone'}`.execute(stores.db);
      const details = plan.rows.map((row) => row.detail).join(' | ');
      return /SEARCH password_resets USING (?:COVERING )?INDEX password_resets_user \(user_id=\?\)/.test(details);
    },
  },
  {
    name: 'PostgreSQL',
    skip: await postgresMissing(),
    async make() {
      const database = await createTestDatabase();
      return { open: (migrations) => openPostgresStores({ url: database.url, migrations }), drop: () => database.drop() };
    },
    // A table this small is scanned whatever its indexes: the index itself is what is checked.
    async usesIndex(stores) {
      const found = await sql<{ indexdef: string }>`SELECT indexdef FROM pg_indexes WHERE tablename = 'password_resets' AND indexname = 'password_resets_user'`.execute(stores.db);
      return found.rows.length === 1 && /\(user_id\)/.test(found.rows[0]!.indexdef);
    },
  },
];

/**
 * `PasswordResets.endAll` (every new password) and the cascade of an account's deletion find an
 * account's reset links by `user_id`; without an index each read the whole table.
 */
for (const setup of setups) describe.skipIf(Boolean(setup.skip))(`password_resets is indexed by user_id, ${setup.name}${setup.skip ? ` (skipped: ${setup.skip})` : ''}`, () => {
  it('the migration adds the index to a database made before it, whose links still work', async () => {
    const { open, drop } = await setup.make();
    const before = Object.fromEntries(Object.entries(accountsMigrations).filter(([name]) => name < MIGRATION));
    try {
      const old = await open({ ...coreMigrations, ...before });
      expect(await setup.usesIndex(old)).toBe(false);
      const user = await new UserStore(old.db).create({ username: 'index-person', email: 'index@example.test', passwordHash: 'x' }, Date.now());
      const token = await new PasswordResets(old.db, 60_000).issue(user.id, Date.now());
      await old.close();

      const upgraded = await open({ ...coreMigrations, ...accountsMigrations });
      try {
        expect(await setup.usesIndex(upgraded)).toBe(true);
        const resets = new PasswordResets(upgraded.db, 60_000);
        expect(await resets.liveUserId(token, Date.now())).toBe(user.id);
        await resets.endAll(user.id);
        expect(await resets.liveUserId(token, Date.now())).toBeUndefined();
      } finally {
        await upgraded.close();
      }
    } finally {
      await drop();
    }
  }, 30_000);
});
