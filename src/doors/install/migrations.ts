import { sql, type Kysely } from 'kysely';
import type { MigrationSet } from '../../store/durable-schema.js';

/**
 * The install door's tables: organizations and members, chat installations, chat user links; then
 * when an installation was rotated, so that rotated ones can be deleted (they were kept forever);
 * then invitations into organizations; then the memory of declined invitations.
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
  // The sweep takes setups expired uninstalled (`state = 'pending' AND expires_at <= now`) and
  // installations rotated long enough ago (`state = 'rotated' AND rotated_at <= ...`) a batch at a
  // time (`Installations.sweep`): without an index each batch read the table until it found them.
  // Led by the state rather than partial (`WHERE state = 'pending'`): the sweep binds the state as
  // a parameter, and a plan made for any value (PostgreSQL's generic plan of a prepared statement)
  // cannot use a partial index.
  '2026121500_install_installations_sweep': {
    async up(db: Kysely<unknown>) {
      await db.schema.createIndex('chat_installations_pending').on('chat_installations').columns(['state', 'expires_at']).execute();
      await db.schema.createIndex('chat_installations_rotated').on('chat_installations').columns(['state', 'rotated_at']).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex('chat_installations_rotated').execute();
      await db.schema.dropIndex('chat_installations_pending').execute();
    },
  },
  '2026121500_install_invitations': {
    // Membership by invitation: an admin invites a username, and only its account's acceptance
    // makes a member (an admin used to add any account, unasked).
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('organization_invitations')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('org_id', 'text', (col) => col.notNull().references('organizations.id').onDelete('cascade'))
        .addColumn('username', 'text', (col) => col.notNull())
        // Deleting the invitee's account, or the inviter's, takes the invitation with it.
        .addColumn('user_id', 'text', (col) => col.references('users.id').onDelete('cascade'))
        .addColumn('role', 'text', (col) => col.notNull())
        .addColumn('invited_by', 'text', (col) => col.notNull().references('users.id').onDelete('cascade'))
        .addColumn('created_at', 'bigint', (col) => col.notNull())
        .addColumn('expires_at', 'bigint', (col) => col.notNull())
        .execute();
      // One invitation per organization and username: inviting again renews it.
      await db.schema.createIndex('organization_invitations_org_username').unique().on('organization_invitations').columns(['org_id', 'username']).execute();
      await db.schema.createIndex('organization_invitations_user').on('organization_invitations').columns(['user_id', 'expires_at']).execute();
      await db.schema.createIndex('organization_invitations_inviter').on('organization_invitations').column('invited_by').execute();
      await db.schema.createIndex('organization_invitations_expires_at').on('organization_invitations').column('expires_at').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('organization_invitations').execute();
    },
  },
  '2026121600_install_invitation_declines': {
    // A declined invitation is remembered for a while (PAIRGATE_INSTALL_DECLINE_MEMORY_SECONDS), by
    // the account that declined, its organization and its inviter: neither may invite that account
    // again meanwhile, so a stranger cannot keep the account's pending places filled by inviting
    // again after each decline, from this organization or from a new one.
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('organization_invitation_declines')
        .addColumn('id', 'text', (col) => col.primaryKey())
        // Deleting the account that declined, or the inviter's, takes the memory with it.
        .addColumn('user_id', 'text', (col) => col.notNull().references('users.id').onDelete('cascade'))
        // Deleting the organization keeps the memory of its inviter: organizations are free to make
        // and delete, so one deleted and made again must not invite again.
        .addColumn('org_id', 'text', (col) => col.references('organizations.id').onDelete('set null'))
        .addColumn('invited_by', 'text', (col) => col.notNull().references('users.id').onDelete('cascade'))
        .addColumn('declined_at', 'bigint', (col) => col.notNull())
        .addColumn('expires_at', 'bigint', (col) => col.notNull())
        .execute();
      // One memory per account, organization and inviter (a decline again renews it); also the
      // look-up of an account's memories at an invitation and on its page.
      await db.schema.createIndex('organization_invitation_declines_key').unique().on('organization_invitation_declines').columns(['user_id', 'org_id', 'invited_by']).execute();
      await db.schema.createIndex('organization_invitation_declines_org').on('organization_invitation_declines').column('org_id').execute();
      await db.schema.createIndex('organization_invitation_declines_inviter').on('organization_invitation_declines').column('invited_by').execute();
      // The sweep's condition (`expires_at <= now`), a batch at a time.
      await db.schema.createIndex('organization_invitation_declines_expires_at').on('organization_invitation_declines').column('expires_at').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('organization_invitation_declines').execute();
    },
  },
};
