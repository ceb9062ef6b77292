import type { Kysely } from 'kysely';
import type { MigrationSet } from '../../store/durable-schema.js';

/** Tables of app accesses and their (hashed) tokens; after the accounts tables they refer to. */
export const accessMigrations: MigrationSet = {
  '2026112211_access_app_accesses': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('app_accesses')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('user_id', 'text', (col) => col.notNull().references('users.id').onDelete('cascade'))
        .addColumn('app_id', 'text', (col) => col.notNull())
        .addColumn('device_name', 'text', (col) => col.notNull())
        .addColumn('permissions', 'text', (col) => col.notNull())
        .addColumn('created_at', 'bigint', (col) => col.notNull())
        .addColumn('updated_at', 'bigint', (col) => col.notNull())
        .addColumn('expires_at', 'bigint')
        .execute();
      // One access per app and device for a user: a new request for it updates, never duplicates.
      await db.schema.createIndex('app_accesses_user_app').unique().on('app_accesses').columns(['user_id', 'app_id', 'device_name']).execute();
      await db.schema
        .createTable('app_access_tokens')
        .addColumn('token_hash', 'text', (col) => col.primaryKey())
        .addColumn('access_id', 'text', (col) => col.notNull().references('app_accesses.id').onDelete('cascade'))
        .addColumn('created_at', 'bigint', (col) => col.notNull())
        .execute();
      await db.schema.createIndex('app_access_tokens_access').on('app_access_tokens').column('access_id').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('app_access_tokens').execute();
      await db.schema.dropTable('app_accesses').execute();
    },
  },
};
