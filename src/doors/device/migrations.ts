import type { Kysely } from 'kysely';
import type { MigrationSet } from '../../store/durable-schema.js';

/**
 * The device door's access tokens (hashed), after the accounts tables they refer to; then the
 * clients registered through the admin API; then the refresh tokens (hashed).
 */
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
  '2026120114_device_clients': {
    async up(db: Kysely<unknown>) {
      // No foreign key from the tokens: configured clients have no row. Deleting a client deletes
      // its tokens in code (DeviceClientRegistry.delete).
      await db.schema
        .createTable('device_clients')
        .addColumn('client_id', 'text', (col) => col.primaryKey())
        .addColumn('name', 'text', (col) => col.notNull())
        .addColumn('scopes', 'text')
        .addColumn('registration_id', 'text', (col) => col.notNull())
        .addColumn('created_at', 'bigint', (col) => col.notNull())
        .addColumn('updated_at', 'bigint', (col) => col.notNull())
        .execute();
      // A token is active only while the registration it was issued under is the client's current
      // one (null: a configured client, which has none).
      await db.schema.alterTable('device_access_tokens').addColumn('registration_id', 'text').execute();
      await db.schema.createIndex('device_access_tokens_client').on('device_access_tokens').column('client_id').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex('device_access_tokens_client').execute();
      await db.schema.alterTable('device_access_tokens').dropColumn('registration_id').execute();
      await db.schema.dropTable('device_clients').execute();
    },
  },
  '2026120300_device_refresh_tokens': {
    async up(db: Kysely<unknown>) {
      // Refresh tokens (hashed), one family per device authorization: every rotation adds a row to
      // the family and marks the presented one used; used rows stay until they expire, so a second
      // presentation is recognised as reuse and ends the family.
      await db.schema
        .createTable('device_refresh_tokens')
        .addColumn('token_hash', 'text', (col) => col.primaryKey())
        .addColumn('family', 'text', (col) => col.notNull())
        .addColumn('client_id', 'text', (col) => col.notNull())
        .addColumn('registration_id', 'text')
        // Deleting an account deletes the refresh tokens it granted, as its access tokens.
        .addColumn('user_id', 'text', (col) => col.notNull().references('users.id').onDelete('cascade'))
        .addColumn('scope', 'text', (col) => col.notNull())
        .addColumn('connected_at', 'bigint', (col) => col.notNull())
        .addColumn('created_at', 'bigint', (col) => col.notNull())
        .addColumn('expires_at', 'bigint', (col) => col.notNull())
        .addColumn('used_at', 'bigint')
        .execute();
      await db.schema.createIndex('device_refresh_tokens_family').on('device_refresh_tokens').column('family').execute();
      await db.schema.createIndex('device_refresh_tokens_user').on('device_refresh_tokens').column('user_id').execute();
      await db.schema.createIndex('device_refresh_tokens_expires').on('device_refresh_tokens').column('expires_at').execute();
      await db.schema.createIndex('device_refresh_tokens_client').on('device_refresh_tokens').column('client_id').execute();
      // Disconnecting a device deletes its access tokens by family (grant_id) too.
      await db.schema.createIndex('device_access_tokens_grant').on('device_access_tokens').column('grant_id').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex('device_access_tokens_grant').execute();
      await db.schema.dropTable('device_refresh_tokens').execute();
    },
  },
};
