import { sql, type Kysely } from 'kysely';
import type { MigrationSet } from '../durable-schema.js';

/**
 * Tables of the grant engine and the ephemeral store. Column types are the portable subset of
 * SQLite and PostgreSQL (text, bigint, integer) so one migration serves both dialects. Times are
 * milliseconds since the epoch.
 */
export const coreMigrations: MigrationSet = {
  '2026112200_core_grants': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('grants')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('kind', 'text', (col) => col.notNull())
        .addColumn('state', 'text', (col) => col.notNull())
        .addColumn('code_hash', 'text')
        .addColumn('secret_hash', 'text')
        .addColumn('request', 'text', (col) => col.notNull())
        .addColumn('result', 'text')
        .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(0))
        .addColumn('version', 'integer', (col) => col.notNull())
        .addColumn('created_at', 'bigint', (col) => col.notNull())
        .addColumn('updated_at', 'bigint', (col) => col.notNull())
        .addColumn('expires_at', 'bigint', (col) => col.notNull())
        .execute();
      // A code hash names at most one grant, live or expired; create() clears an expired holder.
      await db.schema.createIndex('grants_code_hash').unique().on('grants').column('code_hash')
        .where(sql.ref('code_hash'), 'is not', null).execute();
      await db.schema.createIndex('grants_secret_hash').on('grants').columns(['kind', 'secret_hash']).execute();
      await db.schema.createIndex('grants_expires_at').on('grants').column('expires_at').execute();
      await db.schema.createIndex('grants_kind').on('grants').columns(['kind', 'expires_at']).execute();

      await db.schema
        .createTable('ephemeral')
        .addColumn('key', 'text', (col) => col.primaryKey())
        .addColumn('value', 'text', (col) => col.notNull())
        .addColumn('expires_at', 'bigint', (col) => col.notNull())
        .execute();
      await db.schema.createIndex('ephemeral_expires_at').on('ephemeral').column('expires_at').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('ephemeral').execute();
      await db.schema.dropTable('grants').execute();
    },
  },
  '2026112300_core_grants_no_secret_index': {
    // Secrets are checked on the grant their id names, never searched for: the index only cost
    // a random page write per new grant.
    async up(db: Kysely<unknown>) {
      await db.schema.dropIndex('grants_secret_hash').ifExists().execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.createIndex('grants_secret_hash').on('grants').columns(['kind', 'secret_hash']).execute();
    },
  },
  '2026120400_core_grants_owner': {
    // Who created the grant (a client network), where a door caps how many live grants one may
    // hold. The SQLite store counts each owner's live grants from it in memory, rebuilt from this
    // column at start-up, instead of writing an entry of the ephemeral store per grant.
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('grants').addColumn('owner', 'text').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('grants').dropColumn('owner').execute();
    },
  },
  '2026120500_core_server_keys': {
    // Keys the server draws once and every node sharing PostgreSQL reads (`Stores.sharedKey`,
    // `sql/server-keys.ts`): the code key without PAIRGATE_CODE_HASH_KEY.
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('server_keys')
        .addColumn('name', 'text', (column) => column.primaryKey())
        .addColumn('value', 'text', (column) => column.notNull())
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('server_keys').execute();
    },
  },
};
