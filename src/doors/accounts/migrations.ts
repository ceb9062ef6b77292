import { sql, type Kysely } from 'kysely';
import type { MigrationSet } from '../../store/durable-schema.js';

/** Tables of accounts: users, sessions and password resets (portable SQLite / PostgreSQL types). */
export const accountsMigrations: MigrationSet = {
  '2026112210_accounts_users': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('username', 'text', (col) => col.notNull().unique())
        .addColumn('email', 'text', (col) => col.notNull().unique())
        .addColumn('password_hash', 'text', (col) => col.notNull())
        .addColumn('created_at', 'bigint', (col) => col.notNull())
        .execute();
      await db.schema
        .createTable('account_sessions')
        .addColumn('token_hash', 'text', (col) => col.primaryKey())
        .addColumn('user_id', 'text', (col) => col.notNull().references('users.id').onDelete('cascade'))
        .addColumn('created_at', 'bigint', (col) => col.notNull())
        .addColumn('expires_at', 'bigint', (col) => col.notNull())
        .execute();
      await db.schema.createIndex('account_sessions_user').on('account_sessions').column('user_id').execute();
      await db.schema
        .createTable('password_resets')
        .addColumn('token_hash', 'text', (col) => col.primaryKey())
        .addColumn('user_id', 'text', (col) => col.notNull().references('users.id').onDelete('cascade'))
        .addColumn('created_at', 'bigint', (col) => col.notNull())
        .addColumn('expires_at', 'bigint', (col) => col.notNull())
        .addColumn('used_at', 'bigint')
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('password_resets').execute();
      await db.schema.dropTable('account_sessions').execute();
      await db.schema.dropTable('users').execute();
    },
  },
  // Sessions end after a time without use as well as at their lifetime (`Sessions.current`). When
  // the sessions open before this migration were last used is unknown: from now, so an upgrade signs
  // nobody out (their lifetime still ends them). Nullable, as ADD COLUMN NOT NULL needs a default on
  // SQLite, and a node of the earlier version, still running during a rolling upgrade, writes none:
  // such a row is read as used at its start.
  '2026120700_accounts_session_last_seen': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('account_sessions').addColumn('last_seen_at', 'bigint').execute();
      await sql`update account_sessions set last_seen_at = ${Date.now()} where last_seen_at is null`.execute(db);
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('account_sessions').dropColumn('last_seen_at').execute();
    },
  },
  // A new password deletes every reset link of the account (`PasswordResets.endAll`), and deleting
  // an account deletes its links by the foreign key's cascade: both by `user_id`, which had no index,
  // so each read the whole table (as long as an hour's reset requests of everyone make it).
  '2026121300_accounts_password_resets_user': {
    async up(db: Kysely<unknown>) {
      await db.schema.createIndex('password_resets_user').on('password_resets').column('user_id').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex('password_resets_user').execute();
    },
  },
  // The sweeps delete a batch at a time (`deleteInBatches`), and without an index each batch read
  // the table until it found its rows. Sessions end at the first of three conditions, an OR
  // (`Sessions.sweep`): an index on each term lets SQLite read the union of three index ranges
  // (its MULTI-INDEX OR) and PostgreSQL a BitmapOr of index scans, where one index on all the
  // columns serves no term but the first. `(last_seen_at, created_at)` serves two terms: a range of
  // `last_seen_at`, and `last_seen_at IS NULL` (a row of a node of an earlier version) with a range
  // of `created_at`. `last_seen_at` changes at most once a minute per session in use (`refreshMs`).
  '2026121500_accounts_sweep_indexes': {
    async up(db: Kysely<unknown>) {
      await db.schema.createIndex('password_resets_expires').on('password_resets').column('expires_at').execute();
      await db.schema.createIndex('account_sessions_expires').on('account_sessions').column('expires_at').execute();
      await db.schema.createIndex('account_sessions_last_seen').on('account_sessions').columns(['last_seen_at', 'created_at']).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex('account_sessions_last_seen').execute();
      await db.schema.dropIndex('account_sessions_expires').execute();
      await db.schema.dropIndex('password_resets_expires').execute();
    },
  },
};
