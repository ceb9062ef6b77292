import type { Kysely } from 'kysely';
import type { MigrationSet } from '../../store/durable-schema.js';

/** The device door's access tokens (hashed); after the accounts tables they refer to. */
export const deviceMigrations: MigrationSet = {
  '2026120112_device_access_tokens': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('device_access_tokens')
        .addColumn('token_hash', 'text', (col) => col.primaryKey())
        .addColumn('client_id', 'text', (col) => col.notNull())
        // Deleting an account deletes the tokens it granted.
        .addColumn('user_id', 'text', (col) => col.notNull().references('users.id').onDelete('cascade'))
        .addColumn('scope', 'text', (col) => col.notNull())
        .addColumn('grant_id', 'text', (col) => col.notNull())
        .addColumn('created_at', 'bigint', (col) => col.notNull())
        .addColumn('expires_at', 'bigint', (col) => col.notNull())
        .execute();
      await db.schema.createIndex('device_access_tokens_user').on('device_access_tokens').column('user_id').execute();
      await db.schema.createIndex('device_access_tokens_expires').on('device_access_tokens').column('expires_at').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('device_access_tokens').execute();
    },
  },
};
