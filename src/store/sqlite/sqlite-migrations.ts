import { sql, type Kysely } from 'kysely';
import type { MigrationSet } from '../durable-schema.js';

/**
 * Migrations of the SQLite store only, run after the shared ones they follow. PostgreSQL keeps the
 * shared schema: there several servers write, and only the database can keep codes unique.
 */
export const sqliteMigrations: MigrationSet = {
  '2026112400_sqlite_codes_in_memory': {
    // The SQLite store keeps which grant holds each code in memory (src/store/sqlite/code-index.ts):
    // an index of random hashes cost a random page write on every new grant.
    async up(db: Kysely<unknown>) {
      await db.schema.dropIndex('grants_code_hash').ifExists().execute();
    },
    async down(db: Kysely<unknown>) {
      // Expired grants may share a code with the live grant that took it over: they give it up.
      await sql`update grants set code_hash = null where code_hash is not null and expires_at <= ${Date.now()}`.execute(db);
      await db.schema.createIndex('grants_code_hash').unique().on('grants').column('code_hash')
        .where(sql.ref('code_hash'), 'is not', null).execute();
    },
  },
  '2026120300_sqlite_live_counts_in_memory': {
    // The SQLite store counts each kind's live grants in memory (src/store/sqlite/live-counts.ts):
    // nothing reads the index of (kind, expiry) any more, and every new grant paid for an entry in
    // it (its b-tree insert and, on each group commit, its page in the WAL). The sweep keeps its
    // index of expiry times.
    async up(db: Kysely<unknown>) {
      await db.schema.dropIndex('grants_kind').ifExists().execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.createIndex('grants_kind').on('grants').columns(['kind', 'expires_at']).execute();
    },
  },
};
