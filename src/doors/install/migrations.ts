import { sql, type Kysely } from 'kysely';
import type { MigrationSet } from '../../store/durable-schema.js';

/**
 * The install door's tables: organizations and members, chat installations, chat user links; then
 * when an installation was rotated, so that rotated ones can be deleted (they were kept forever).
 */
export const installMigrations: MigrationSet = {
  '2026120113_install_organizations': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('organizations')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('name', 'text', (col) => col.notNull())
        .addColumn('created_at', 'bigint', (col) => col.notNull())
        .execute();
      await db.schema
        .createTable('organization_members')
        .addColumn('org_id', 'text', (col) => col.notNull().references('organizations.id').onDelete('cascade'))
        // Deleting an account takes its memberships with it.
        .addColumn('user_id', 'text', (col) => col.notNull().references('users.id').onDelete('cascade'))
        .addColumn('role', 'text', (col) => col.notNull())
        .addColumn('created_at', 'bigint', (col) => col.notNull())
        .addPrimaryKeyConstraint('organization_members_pk', ['org_id', 'user_id'])
        .execute();
      await db.schema.createIndex('organization_members_user').on('organization_members').column('user_id').execute();
      await db.schema
        .createTable('chat_installations')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('org_id', 'text', (col) => col.notNull().references('organizations.id').onDelete('cascade'))
        .addColumn('connector', 'text', (col) => col.notNull())
        .addColumn('state', 'text', (col) => col.notNull())
        .addColumn('secret_sealed', 'text', (col) => col.notNull())
        .addColumn('created_at', 'bigint', (col) => col.notNull())
        .addColumn('expires_at', 'bigint')
        .addColumn('installed_at', 'bigint')
        .addColumn('site_url', 'text')
        .addColumn('bot_user_id', 'text')
        .addColumn('bot_token_sealed', 'text')
        .execute();
      await db.schema.createIndex('chat_installations_org').on('chat_installations').columns(['org_id', 'connector']).execute();
      await db.schema
        .createTable('chat_links')
        .addColumn('org_id', 'text', (col) => col.notNull().references('organizations.id').onDelete('cascade'))
        .addColumn('connector', 'text', (col) => col.notNull())
        .addColumn('external_user_id', 'text', (col) => col.notNull())
        .addColumn('user_id', 'text', (col) => col.notNull().references('users.id').onDelete('cascade'))
        .addColumn('installation_id', 'text', (col) => col.notNull())
        .addColumn('external_username', 'text')
        .addColumn('linked_at', 'bigint', (col) => col.notNull())
        .addPrimaryKeyConstraint('chat_links_pk', ['org_id', 'connector', 'external_user_id'])
        .execute();
      await db.schema.createIndex('chat_links_user').on('chat_links').column('user_id').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('chat_links').execute();
      await db.schema.dropTable('chat_installations').execute();
      await db.schema.dropTable('organization_members').execute();
      await db.schema.dropTable('organizations').execute();
    },
  },
  '2026120200_install_rotated_at': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('chat_installations').addColumn('rotated_at', 'bigint').execute();
      // Rows rotated before this migration: when is unknown, so from now. They are swept one setup
      // TTL later, or as soon as their organization installs a newer setup of the connector. A
      // rotated installation never calls its chat server, so its bot token goes at once.
      await sql`update chat_installations set rotated_at = ${Date.now()}, bot_token_sealed = null where state = 'rotated'`.execute(db);
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('chat_installations').dropColumn('rotated_at').execute();
    },
  },
};
