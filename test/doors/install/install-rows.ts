import { randomId } from '../../../src/core/ids.js';
import { UserStore } from '../../../src/doors/accounts/users.js';
import { lastAdminGuard } from '../../../src/doors/install/last-admin-guard.js';
import type { DurableDb } from '../../../src/store/durable-schema.js';

/**
 * Rows of the install door's tables written straight into a store, for the lock-order tests: the
 * ones that race writes over many rows need those rows laid out in a chosen order, which the
 * door's own routes do not give.
 */

/** Numbers the rows made, so ids are unique in a database (and across a file's databases). */
let next = 0;

/** Rows made for a test in `db`. */
export class InstallRows {
  constructor(private readonly db: DurableDb) {}

  /** An account named `name` and a number; its id, which is also its username. */
  async user(name: string): Promise<string> {
    const id = `${name}-${next++}`;
    await this.db.insertInto('users').values({ id, username: id, email: `${id}@example.test`, password_hash: 'x', created_at: 0 }).execute();
    return id;
  }

  /** An organization with `admins`, as admins; its id. */
  async organization(...admins: string[]): Promise<string> {
    const id = randomId();
    await this.db.insertInto('organizations').values({ id, name: `Org ${next++}`, created_at: 0 }).execute();
    for (const admin of admins) await this.db.insertInto('organization_members').values({ org_id: id, user_id: admin, role: 'admin', created_at: 0 }).execute();
    return id;
  }

  /** An invitation into `orgId` of `invitee` (by its account id, or a username of none) from `inviter`; its id. */
  async invitation(orgId: string, invitee: string | null, inviter: string, expiresAt: number, fields: { id?: string; username?: string } = {}): Promise<string> {
    const id = fields.id ?? randomId();
    await this.db.insertInto('organization_invitations').values({
      id, org_id: orgId, username: fields.username ?? invitee ?? `nobody-${next++}`, user_id: invitee, role: 'member', invited_by: inviter, created_at: 0, expires_at: expiresAt,
    }).execute();
    return id;
  }

  /**
   * `n` invitations into `orgId` from `inviter` expiring at `expiredAt` and the `n - 1`
   * milliseconds after, their keys running the other way from their usernames and from the order
   * they are stored in (written last key first): the sweep's plan takes them by key, an
   * organization's deletion by username, a withdrawal by inviter (its index then the table's
   * order). Their ids in key order.
   */
  async expiredInvitations(orgId: string, inviter: string, n: number, expiredAt: number): Promise<string[]> {
    const prefix = randomId();
    const pad = (k: number) => String(k).padStart(4, '0');
    const rows = Array.from({ length: n }, (_, k) => ({
      id: `${prefix}-${pad(k)}`, org_id: orgId, username: `name-${pad(n - 1 - k)}`, user_id: null, role: 'member', invited_by: inviter, created_at: 0, expires_at: expiredAt + k,
    })).reverse();
    await this.db.insertInto('organization_invitations').values(rows).execute();
    return rows.map((row) => row.id).reverse();
  }

  /**
   * `n` links of `userId` in `orgId` naming an installation that no longer exists, written last
   * key first in one statement, so that the order they lie in the table (a sequential scan's, and
   * that of the account's cascade through `chat_links_user`, whose entries for one account follow
   * the table) runs against their keys' (an organization's deletion, and the planned sweep, by
   * `chat_links_pkey`). Their external ids in key order.
   */
  async orphanLinks(orgId: string, userId: string, n: number): Promise<string[]> {
    const ids = Array.from({ length: n }, (_, k) => `chat-user-${String(k).padStart(4, '0')}`);
    const rows = ids.map((externalUserId) => ({
      org_id: orgId, connector: 'webhook', external_user_id: externalUserId, user_id: userId, installation_id: `gone-${randomId()}`, external_username: null, linked_at: 0,
    })).reverse();
    await this.db.insertInto('chat_links').values(rows).execute();
    return ids;
  }
}

/** Deletes account `userId` as the accounts door does: its row locked, the install door's guard, the delete (which cascades). */
export const deleteAccount = (db: DurableDb, userId: string): Promise<boolean> => new UserStore(db).delete(userId, (trx) => lastAdminGuard(trx, userId));
