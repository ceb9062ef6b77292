import type { DurableDb } from '../../store/durable-schema.js';
import { supportsRowLocks } from '../../store/sql/advisory-lock.js';
import { installationExists } from './installations.js';
import { lockOrganization } from './organizations.js';
import './install-rows.js';
import '../accounts/account-rows.js';

/** A chat user's link to a pairgate account. */
export interface ChatLink {
  userId: string;
  username: string;
  externalUsername: string | null;
  linkedAt: number;
}

/**
 * What became of a link: made (with the pairgate account the chat user was linked to before, if
 * another, which the answer names so a replaced link is not a surprise), or refused because the
 * account (deleted meanwhile), the organization, the installation (uninstalled meanwhile) or the
 * membership is gone.
 */
export type LinkOutcome = { linked: true; replaced: string | null } | 'account_gone' | 'organization_gone' | 'installation_gone' | 'not_a_member';

/** Who a chat user is, within one organization's installation of one connector. */
export interface ChatUserRef {
  orgId: string;
  connector: string;
  externalUserId: string;
}

/**
 * Links between chat users and pairgate accounts (durable), one per chat user per organization and
 * connector: linking again replaces the previous link. Deleting the account or the organization
 * deletes its links (foreign keys); uninstalling the installation they hold through deletes them
 * with it (`Installations.remove`).
 */
export class ChatLinks {
  constructor(private readonly db: DurableDb) {}

  /**
   * Links `ref` to `userId`, replacing any earlier link of that chat user (whose account it
   * returns when it was another), if the account, the organization and installation
   * `installationId` still exist and `userId` is still its member. Decided in one transaction that
   * holds the account's row and then locks the organization, so a link cannot outlive a deletion
   * of the account, a removal of the member, a deletion of the organization or an uninstall
   * (`Installations.remove`) running at the same time.
   */
  async link(ref: ChatUserRef, userId: string, installationId: string, externalUsername: string | null, now: number): Promise<LinkOutcome> {
    return this.db.transaction().execute(async (trx) => {
      if (!(await this.holdAccount(trx, userId))) return 'account_gone';
      if (!(await lockOrganization(trx, ref.orgId))) return 'organization_gone';
      if (!(await installationExists(trx, installationId))) return 'installation_gone';
      const member = await trx.selectFrom('organization_members').select('user_id').where('org_id', '=', ref.orgId).where('user_id', '=', userId).executeTakeFirst();
      if (!member) return 'not_a_member';
      const before = await trx
        .selectFrom('chat_links')
        .innerJoin('users', 'users.id', 'chat_links.user_id')
        .select(['chat_links.user_id', 'users.username'])
        .where('chat_links.org_id', '=', ref.orgId)
        .where('chat_links.connector', '=', ref.connector)
        .where('chat_links.external_user_id', '=', ref.externalUserId)
        .executeTakeFirst();
      await trx
        .insertInto('chat_links')
        .values({ org_id: ref.orgId, connector: ref.connector, external_user_id: ref.externalUserId, user_id: userId, installation_id: installationId, external_username: externalUsername, linked_at: now })
        .onConflict((oc) => oc.columns(['org_id', 'connector', 'external_user_id']).doUpdateSet({ user_id: userId, installation_id: installationId, external_username: externalUsername, linked_at: now }))
        .execute();
      return { linked: true, replaced: before && before.user_id !== userId ? before.username : null };
    });
  }

  /**
   * Whether account `userId` exists, its row held until `trx` ends. The account comes before the
   * organization because a deletion of the account locks them in that order (`UserStore.delete`
   * locks the row FOR UPDATE, then `lastAdminGuard` locks each organization it belongs to): the
   * link's insert takes the row FOR KEY SHARE anyway (its foreign key), and taken there, after the
   * organization, the two waited for each other and PostgreSQL ended one of them (deadlock,
   * 40P01, a 500). FOR KEY SHARE, as the foreign key would: it keeps the account from being
   * deleted, not from being changed. A deletion that went first is waited for, and then the row is
   * not found. On SQLite a transaction runs alone, so reading is enough.
   */
  private async holdAccount(trx: DurableDb, userId: string): Promise<boolean> {
    const account = trx.selectFrom('users').select('id').where('id', '=', userId);
    return (await (supportsRowLocks(this.db) ? account.forKeyShare() : account).executeTakeFirst()) !== undefined;
  }

  /** How many chat users are linked in `orgId`, every connector. */
  async countIn(orgId: string): Promise<number> {
    const row = await this.db.selectFrom('chat_links').select((eb) => eb.fn.countAll<number | string>().as('n')).where('org_id', '=', orgId).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** The link of `ref`, if any. */
  async find(ref: ChatUserRef): Promise<ChatLink | undefined> {
    const row = await this.db
      .selectFrom('chat_links')
      .innerJoin('users', 'users.id', 'chat_links.user_id')
      .select(['chat_links.user_id', 'users.username', 'chat_links.external_username', 'chat_links.linked_at'])
      .where('chat_links.org_id', '=', ref.orgId)
      .where('chat_links.connector', '=', ref.connector)
      .where('chat_links.external_user_id', '=', ref.externalUserId)
      .executeTakeFirst();
    return row ? { userId: row.user_id, username: row.username, externalUsername: row.external_username, linkedAt: Number(row.linked_at) } : undefined;
  }

  /** The chat users linked to account `userId` in `orgId`, every connector, oldest first. */
  async listForUser(orgId: string, userId: string): Promise<{ connector: string; externalUserId: string; externalUsername: string | null; linkedAt: number }[]> {
    const rows = await this.db
      .selectFrom('chat_links')
      .select(['connector', 'external_user_id', 'external_username', 'linked_at'])
      .where('org_id', '=', orgId)
      .where('user_id', '=', userId)
      .orderBy('linked_at')
      .execute();
    return rows.map((row) => ({ connector: row.connector, externalUserId: row.external_user_id, externalUsername: row.external_username, linkedAt: Number(row.linked_at) }));
  }

  /** Removes the link of `ref`; true when there was one. */
  async unlink(ref: ChatUserRef): Promise<boolean> {
    const result = await this.db.deleteFrom('chat_links').where('org_id', '=', ref.orgId).where('connector', '=', ref.connector).where('external_user_id', '=', ref.externalUserId).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}
