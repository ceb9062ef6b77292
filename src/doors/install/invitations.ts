import { ConflictError, ExpiredError, InvalidRequestError, NotFoundError } from '../../core/errors.js';
import { randomId } from '../../core/ids.js';
import type { DurableDb } from '../../store/durable-schema.js';
import { advisoryXactLock, needsAdvisoryLocks, supportsRowLocks } from '../../store/sql/advisory-lock.js';
import { deleteInBatches } from '../../store/sql/batched-delete.js';
import { USERNAME_PATTERN } from '../accounts/users.js';
import { alreadyMember, assertAllowedIn, assertRoomFor, lockOrganization, ORG_ID_PATTERN, type Membership } from './organizations.js';
import { isRole, roleAllows, ROLES, type Role } from './roles.js';
import './install-rows.js';
import '../accounts/account-rows.js';

/** The bounds of invitations (`PAIRGATE_INSTALL_INVITATION_TTL_SECONDS`, `..._MAX_PENDING_INVITATIONS_PER_*`). */
export interface InvitationLimits {
  /** How long an invitation waits for its invitee, in ms. */
  ttlMs: number;
  /** Pending invitations one organization may have at once. */
  perOrganization: number;
  /** Pending invitations one account may receive at once. */
  perAccount: number;
  /** Organizations one account may belong to (checked when it accepts). */
  organizationsPerAccount: number;
  /** How long a decline is remembered (`PAIRGATE_INSTALL_DECLINE_MEMORY_SECONDS`), in ms. */
  declineMemoryMs: number;
}

/** What an invitation's sending answers, the same whether its username names an account or not. */
export interface SentInvitation {
  username: string;
  role: Role;
  expiresAt: number;
}

/** A pending invitation as the organization's admins see it: by the username typed, nothing of the account. */
export interface PendingInvitation {
  username: string;
  role: Role;
  /** The inviter's username; undefined once they are no longer found. */
  invitedBy: string | undefined;
  createdAt: number;
  expiresAt: number;
}

/** A pending invitation as its invitee sees it. */
export interface ReceivedInvitation {
  id: string;
  orgId: string;
  orgName: string;
  role: Role;
  invitedBy: string;
  createdAt: number;
  expiresAt: number;
}

/** An invitation declined, as the account that declined sees it, to allow invitations again. */
export interface DeclinedInvitation {
  id: string;
  /** The organization; null (with its name) once it was deleted, its inviter still remembered. */
  orgId: string | null;
  orgName: string | null;
  /** Who sent the invitation. */
  invitedBy: string;
  declinedAt: number;
  /** When the memory lapses: the organization and the inviter may invite again from then. */
  expiresAt: number;
}

/** The machine code of an invitation refused because its organization has the most pending ones it may. */
export const TOO_MANY_INVITATIONS = 'too_many_invitations';

const INVITATION_ID = new RegExp(ORG_ID_PATTERN);

/** The roles that may invite: an invitation counts, and is shown to its invitee, only while its inviter holds one. */
const INVITING_ROLES: readonly Role[] = ROLES.filter((role) => roleAllows(role, 'members:write'));

/**
 * The invitations that reach `userId` at `now` (`DurableDb` query): bound to it, unexpired, and
 * sent by someone who still holds `members:write` in the organization. One definition for the
 * invitee's list and its cap: an invitation hidden from the list (its inviter demoted or gone) must
 * not hold one of the account's places, where it could be neither seen nor declined.
 */
function reachingInvitations(db: DurableDb, userId: string, now: number) {
  return db.selectFrom('organization_invitations')
    .innerJoin('organization_members as inviter_membership', (join) => join
      .onRef('inviter_membership.org_id', '=', 'organization_invitations.org_id')
      .onRef('inviter_membership.user_id', '=', 'organization_invitations.invited_by'))
    .where('organization_invitations.user_id', '=', userId).where('organization_invitations.expires_at', '>', now)
    .where('inviter_membership.role', 'in', INVITING_ROLES);
}

/** No pending invitation of the caller has this id: 404, whether it exists for someone else or not. */
const invitationNotFound = (): NotFoundError => new NotFoundError('You have no pending invitation with this id: it was accepted, declined, withdrawn or has expired, or it is not yours.', 'invitation_not_found');

/** No remembered decline of the caller has this id: 404, whether it is someone else's or none at all. */
const declineNotFound = (): NotFoundError => new NotFoundError('You have no declined invitation with this id: invitations from it are allowed already (you allowed them, or the memory lapsed), or it is not yours.', 'decline_not_found');

/** A time to the minute, in UTC, as the pages show times: `2026-12-02 07:24 UTC`. */
const minuteUtc = (ms: number): string => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/**
 * 409 `invitation_declined`: the account `username` names declined an invitation from this
 * organization (`from: 'organization'`), or one `byUserId` sent (`'inviter'`), at `declinedAt`,
 * remembered until `until`. Tells the admin nothing new: only an existing account declines, and
 * they saw the invitation leave the pending list.
 */
function declinedBefore(from: 'organization' | 'inviter', declinedAt: number, until: number): ConflictError {
  const what = from === 'organization' ? 'an invitation from this organization' : 'an invitation you sent';
  return new ConflictError(
    `On ${minuteUtc(declinedAt)}, this person declined ${what}: they can be invited again after ${minuteUtc(until)}, or sooner if they allow invitations again on their own integrations page.`,
    'invitation_declined',
    { declined_from: from, declined_at: new Date(declinedAt).toISOString(), invite_again_after: new Date(until).toISOString() },
  );
}

/** No pending invitation of the organization names this username. */
const notInvited = (): NotFoundError => new NotFoundError('The organization has no pending invitation for this username.', 'invitation_not_found');

/**
 * An account id standing for a username that names no account, so an invitation of it runs the
 * statements one of an account runs, matching nothing: account ids are base64url (`randomId`),
 * which has no `~`.
 */
const noAccount = (name: string): string => `~${name}`;

/**
 * Holds the rows of the accounts `ids` until `trx` ends and returns those found: on PostgreSQL
 * FOR KEY SHARE (as a foreign key to them would: they cannot be deleted meanwhile, only changed),
 * in id order, so two transactions holding several never wait for each other in a cycle. The lock
 * order of the install door's invitations: accounts first, then the organization
 * (`lockOrganization`), then the account's invitations advisory lock, then invitation rows. An
 * account's deletion locks its row FOR UPDATE and then every organization it belongs to
 * (`lastAdminGuard`), and its foreign keys reach the invitations and declines naming it: an
 * invitation or a decline that locked the organization first and met the account's row later (its
 * insert's foreign key) waited for the deletion while the deletion waited for it, and PostgreSQL
 * ended one (40P01, a 503 `store_conflict`). On SQLite a transaction runs alone: a read.
 */
async function holdAccounts(trx: DurableDb, ids: readonly string[]): Promise<Set<string>> {
  const query = trx.selectFrom('users').select('id').where('id', 'in', [...new Set(ids)]).orderBy('id');
  const rows = await (supportsRowLocks(trx) ? query.forKeyShare() : query).execute();
  return new Set(rows.map((row) => row.id));
}

/**
 * Checks and lower-cases a username to invite: the accounts' rule (`USERNAME_PATTERN`), so what
 * is stored and shown to admins is a name an account could have. Says nothing of whether one has.
 */
function invitedName(username: string): string {
  const name = username.trim().toLowerCase();
  if (!USERNAME_PATTERN.test(name)) {
    throw new InvalidRequestError('A username has 5 to 60 characters: lower-case letters, digits and hyphens, starting and ending with a letter or digit.', { field: 'username' }, 'invalid_username');
  }
  return name;
}

/** What an acceptance found under the organization's lock, refused once the transaction has committed its clean-up. */
type Outcome = { joined: Membership } | { refused: 'withdrawn' | 'member' };

/**
 * Invitations into organizations (durable). An admin invites a username; the answer and what
 * admins see afterwards are the same whether it names an account or not, so inviting tells
 * nobody which usernames exist. Only the invitee's acceptance makes a member: a stranger can no
 * longer fill another account's `PAIRGATE_INSTALL_MAX_ORGANIZATIONS_PER_ACCOUNT`, nor list
 * organizations on its pages. Each invitation lives `ttlMs`, is counted against its organization
 * (`perOrganization` pending) and its invitee (`perAccount`: a further one is kept unbound, seen
 * by admins but by no one else: the newest is the one left out, so a stranger's invitations
 * cannot push a colleague's out, and the invitee, told they are full, declines some to make room).
 */
export class Invitations {
  constructor(private readonly db: DurableDb, private readonly limits: InvitationLimits) {}

  /**
   * Invites `username` into `orgId` with `role`, for `byUserId`, who must hold `members:write`
   * (checked again under the organization's lock). Inviting a username again renews its
   * invitation (role, inviter, lifetime). 400 `invalid_username` for a name no account could have;
   * 409 `already_member` for a member (whom the admin sees in the list of members anyway); 409
   * `too_many_invitations` when the organization has `perOrganization` pending ones. Nothing else
   * differs between a username of an account and one of none.
   */
  async invite(orgId: string, username: string, role: Role, byUserId: string, now: number): Promise<SentInvitation> {
    const name = invitedName(username);
    const expiresAt = now + this.limits.ttlMs;
    await this.db.transaction().execute(async (trx) => {
      const found = await trx.selectFrom('users').select('id').where('username', '=', name).executeTakeFirst();
      // The inviter's and the invitee's rows before the organization (`holdAccounts`: the order an
      // account's deletion takes them), one statement whether or not the name has an account. An
      // invitee deleted since the read is a name without one.
      const held = await holdAccounts(trx, [byUserId, found?.id ?? noAccount(name)]);
      const user = found && held.has(found.id) ? found : undefined;
      if (!(await lockOrganization(trx, orgId))) throw new NotFoundError('This organization no longer exists.', 'organization_not_found');
      await assertAllowedIn(trx, orgId, byUserId, 'members:write');
      // The same statements whether or not the name has an account (`noAccount` matches no row):
      // skipping them for a name without one answered it measurably sooner, telling which exist.
      const subject = user?.id ?? noAccount(name);
      const member = await trx.selectFrom('organization_members').select('user_id').where('org_id', '=', orgId).where('user_id', '=', subject).executeTakeFirst();
      if (user && member) throw alreadyMember();
      // Counted under the organization's lock; renewing an invitation takes no new place.
      const pending = await trx.selectFrom('organization_invitations').select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('org_id', '=', orgId).where('expires_at', '>', now).where('username', '!=', name).executeTakeFirst();
      if (Number(pending?.n ?? 0) >= this.limits.perOrganization) {
        throw new ConflictError(`This organization has ${this.limits.perOrganization} pending invitations, the most it may: withdraw some, or wait until they are accepted, declined or expired.`, TOO_MANY_INVITATIONS, { max: this.limits.perOrganization });
      }
      const room = await this.roomFor(trx, subject, orgId, now);
      // Read once the account's lock is held (`roomFor`), which a decline takes too: read before
      // it, a decline committing meanwhile (its memory, and this inviter's other invitations
      // withdrawn) let this invitation in after all, from the inviter's other organization.
      await this.assertNotDeclined(trx, subject, orgId, byUserId, now);
      const invitee = user ? room : null;
      const existing = await trx.selectFrom('organization_invitations').select('id').where('org_id', '=', orgId).where('username', '=', name).executeTakeFirst();
      const fields = { user_id: invitee, role, invited_by: byUserId, created_at: now, expires_at: expiresAt };
      if (existing) await trx.updateTable('organization_invitations').set(fields).where('id', '=', existing.id).execute();
      else await trx.insertInto('organization_invitations').values({ id: randomId(), org_id: orgId, username: name, ...fields }).execute();
    });
    return { username: name, role, expiresAt };
  }

  /**
   * 409 `invitation_declined` when `userId` declined, within the memory's period, an invitation
   * from `orgId` or one sent by `byUserId` (a stranger's new organizations are free to make). Said
   * of the latest decline, with the latest time any of them lapses.
   */
  private async assertNotDeclined(trx: DurableDb, userId: string, orgId: string, byUserId: string, now: number): Promise<void> {
    const rows = await trx.selectFrom('organization_invitation_declines').select(['org_id', 'declined_at', 'expires_at'])
      .where('user_id', '=', userId).where('expires_at', '>', now)
      .where((eb) => eb.or([eb('org_id', '=', orgId), eb('invited_by', '=', byUserId)]))
      .execute();
    if (rows.length === 0) return;
    const latest = rows.reduce((a, b) => (Number(b.declined_at) > Number(a.declined_at) ? b : a));
    const until = Math.max(...rows.map((row) => Number(row.expires_at)));
    throw declinedBefore(latest.org_id === orgId ? 'organization' : 'inviter', Number(latest.declined_at), until);
  }

  /**
   * `userId` when it may receive one more invitation (into `orgId`: its invitation there, if any,
   * is not counted, being renewed), else null: the invitation is kept unbound. On PostgreSQL under
   * an advisory lock on the account, taken after the organization's, so two organizations inviting
   * it at once count one after the other (a decline takes it too, `decline`).
   */
  private async roomFor(trx: DurableDb, userId: string, orgId: string, now: number): Promise<string | null> {
    if (needsAdvisoryLocks(trx)) await advisoryXactLock(trx, 'pairgate.install.invitations', userId);
    const row = await reachingInvitations(trx, userId, now).select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('organization_invitations.org_id', '!=', orgId).executeTakeFirst();
    return Number(row?.n ?? 0) < this.limits.perAccount ? userId : null;
  }

  /** The pending invitations of `orgId`, oldest first, as its admins see them. */
  async pendingIn(orgId: string, now: number): Promise<PendingInvitation[]> {
    const rows = await this.db.selectFrom('organization_invitations')
      .leftJoin('users as inviter', 'inviter.id', 'organization_invitations.invited_by')
      .select(['organization_invitations.username', 'organization_invitations.role', 'inviter.username as invited_by', 'organization_invitations.created_at', 'organization_invitations.expires_at'])
      .where('organization_invitations.org_id', '=', orgId).where('organization_invitations.expires_at', '>', now)
      .orderBy('organization_invitations.created_at').orderBy('organization_invitations.username')
      .execute();
    return rows.filter((row) => isRole(row.role)).map((row) => ({
      username: row.username, role: row.role as Role, invitedBy: row.invited_by ?? undefined, createdAt: Number(row.created_at), expiresAt: Number(row.expires_at),
    }));
  }

  /**
   * The pending invitations of `userId`, oldest first; those whose inviter no longer holds
   * `members:write` in the organization are left out (accepting them is refused).
   */
  async receivedBy(userId: string, now: number): Promise<ReceivedInvitation[]> {
    const rows = await reachingInvitations(this.db, userId, now)
      .innerJoin('organizations', 'organizations.id', 'organization_invitations.org_id')
      .innerJoin('users as inviter', 'inviter.id', 'organization_invitations.invited_by')
      .select(['organization_invitations.id', 'organization_invitations.org_id', 'organizations.name', 'organization_invitations.role', 'inviter.username', 'organization_invitations.created_at', 'organization_invitations.expires_at'])
      .orderBy('organization_invitations.created_at').orderBy('organization_invitations.id')
      .execute();
    return rows.filter((row) => isRole(row.role)).map((row) => ({
      id: row.id, orgId: row.org_id, orgName: row.name, role: row.role as Role, invitedBy: row.username, createdAt: Number(row.created_at), expiresAt: Number(row.expires_at),
    }));
  }

  /** How many invitations `userId` may have pending at once (`perAccount`). */
  get perAccount(): number {
    return this.limits.perAccount;
  }

  /**
   * Accepts invitation `id` for `userId`, its invitee: they become a member with its role, and the
   * invitation is gone. Under the organization's lock, in one transaction: the invitation read
   * again (of two acceptances at once, the second finds it gone: 404), the inviter's
   * `members:write` checked (an admin made a member or removed since invites no one: losing the
   * role withdraws their invitations at once, so this finds none, 404; kept as a guard, should one
   * ever be left, 410 `invitation_withdrawn`, the invitation deleted), then the cap on organizations
   * (`assertRoomFor`, the same check and advisory lock as a creation: 409
   * `too_many_organizations`, the invitation kept, to accept once the account left one). 404
   * `invitation_not_found` for an id that is not a pending invitation of `userId`.
   */
  async accept(id: string, userId: string, now: number): Promise<Membership> {
    const found = await this.pendingOf(id, userId, now);
    const outcome = await this.db.transaction().execute(async (trx): Promise<Outcome> => {
      // The account's row before the organization (`holdAccounts`): the membership's insert reaches
      // it, and its deletion, which deletes this invitation, locks it first.
      if (!(await holdAccounts(trx, [userId])).has(userId)) throw invitationNotFound();
      if (!(await lockOrganization(trx, found.org_id))) throw invitationNotFound();
      const invitation = await trx.selectFrom('organization_invitations').select(['role', 'invited_by'])
        .where('id', '=', id).where('user_id', '=', userId).where('expires_at', '>', now).executeTakeFirst();
      if (!invitation || !isRole(invitation.role)) throw invitationNotFound();
      const inviter = await trx.selectFrom('organization_members').select('role').where('org_id', '=', found.org_id).where('user_id', '=', invitation.invited_by).executeTakeFirst();
      const member = await trx.selectFrom('organization_members').select('user_id').where('org_id', '=', found.org_id).where('user_id', '=', userId).executeTakeFirst();
      if (!inviter || !isRole(inviter.role) || !roleAllows(inviter.role, 'members:write') || member) {
        await trx.deleteFrom('organization_invitations').where('id', '=', id).execute();
        return { refused: member ? 'member' : 'withdrawn' };
      }
      await assertRoomFor(trx, userId, this.limits.organizationsPerAccount, true);
      const deleted = await trx.deleteFrom('organization_invitations').where('id', '=', id).executeTakeFirst();
      if (Number(deleted.numDeletedRows) !== 1) throw invitationNotFound();
      await trx.insertInto('organization_members').values({ org_id: found.org_id, user_id: userId, role: invitation.role, created_at: now }).execute();
      const org = await trx.selectFrom('organizations').select(['name', 'created_at']).where('id', '=', found.org_id).executeTakeFirstOrThrow();
      return { joined: { id: found.org_id, name: org.name, createdAt: Number(org.created_at), role: invitation.role } };
    });
    if ('joined' in outcome) return outcome.joined;
    if (outcome.refused === 'member') throw alreadyMember();
    throw new ExpiredError('The admin who sent this invitation no longer administers the organization, so it was withdrawn: ask one of its admins to invite you again.', 'invitation_withdrawn');
  }

  /**
   * Declines (deletes) invitation `id` of `userId`, and remembers it for `declineMemoryMs` under the
   * account, the organization and the inviter (one memory per three, renewed by a decline again):
   * meanwhile neither may invite the account again (`assertNotDeclined`). The other pending
   * invitations the same inviter sent the account, from their other organizations, are withdrawn
   * with it: the memory refuses that inviter's new ones anyway, and a stranger holding the
   * account's `perAccount` places from as many organizations of their own is cleared by one decline,
   * not one each. One transaction holding the two accounts' rows and then the organization's lock
   * (`holdAccounts`); 404 `invitation_not_found` when it is not theirs or is gone (withdrawn
   * meanwhile by a decline of another of the inviter's, or its inviter's account deleted).
   */
  async decline(id: string, userId: string, now: number): Promise<void> {
    // An invitation renewed by another admin between the read and the transaction names an
    // inviter whose account this decline does not hold: read again and start over (each time
    // another renewal committed meanwhile; a few times at most, then as gone).
    for (let attempt = 0; attempt < 3; attempt++) {
      // Pending only, as an acceptance reads it: one lapsed but not yet swept is gone, not declined (nor remembered).
      const found = await this.pendingOf(id, userId, now);
      if (await this.declineFrom(found, id, userId, now)) return;
    }
    throw invitationNotFound();
  }

  /**
   * `decline`'s transaction for invitation `id` of `userId` sent by `found.invited_by`; false when
   * another inviter renewed it meanwhile (nothing done).
   */
  private async declineFrom(found: { org_id: string; invited_by: string }, id: string, userId: string, now: number): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      // First the two accounts' rows (`holdAccounts`), which the memory's insert reaches through
      // its foreign keys and an account's deletion locks before the organizations: taken after
      // the organization, a decline and the deletion of the inviter's or the invitee's account
      // waited for each other (40P01). An account gone took the invitation with it.
      const held = await holdAccounts(trx, [userId, found.invited_by]);
      if (!held.has(userId) || !held.has(found.invited_by)) throw invitationNotFound();
      // Under the organization's lock, as every write naming it: a deletion racing it leaves no memory naming a gone row.
      if (!(await lockOrganization(trx, found.org_id))) throw invitationNotFound();
      // Then, on PostgreSQL, the account's invitations lock (`roomFor`'s: taken after an
      // organization's lock, never before one), before any invitation row is touched. The inviter's
      // invitations in their other organizations are deleted below without those organizations'
      // locks: deleting a row locks only that row (no parent row is locked by a child's deletion),
      // and whoever else writes such a row (an acceptance, a withdrawal, a renewal, a role change,
      // an organization's deletion, each under its own organization's lock) holds nothing this
      // decline waits for but that row and waits for nothing it holds but that row, so no cycle.
      // The one that could close a cycle is another decline by the same account of another of the
      // inviter's invitations: each would hold its own row, deleted, and wait for the other's. The
      // account's lock makes such declines run one after the other; it is taken before this
      // decline deletes anything, so a decline waiting for it holds no invitation row, and the
      // second, once in, finds its invitation gone (404). Rows past their lifetime are left to the
      // sweep, which never waits for a row (`sweep`).
      if (needsAdvisoryLocks(trx)) await advisoryXactLock(trx, 'pairgate.install.invitations', userId);
      const invitation = await trx.selectFrom('organization_invitations').select(['org_id', 'invited_by']).where('id', '=', id).where('user_id', '=', userId).where('expires_at', '>', now).executeTakeFirst();
      if (invitation && invitation.invited_by !== found.invited_by) return false;
      const deleted = await trx.deleteFrom('organization_invitations').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
      if (!invitation || Number(deleted.numDeletedRows) === 0) throw invitationNotFound();
      const memory = { declined_at: now, expires_at: now + this.limits.declineMemoryMs };
      await trx.insertInto('organization_invitation_declines')
        .values({ id: randomId(), user_id: userId, org_id: invitation.org_id, invited_by: invitation.invited_by, ...memory })
        .onConflict((oc) => oc.columns(['user_id', 'org_id', 'invited_by']).doUpdateSet(memory))
        .execute();
      await trx.deleteFrom('organization_invitations')
        .where('user_id', '=', userId).where('invited_by', '=', invitation.invited_by).where('expires_at', '>', now)
        .execute();
      // And those kept unbound (beyond the account's `perAccount` places: no account named, only
      // its username; bound only if renewed once the account has room), which the inviter still
      // saw as pending: the memory refuses that inviter's renewal anyway. Found by the inviter's index.
      const invitee = await trx.selectFrom('users').select('username').where('id', '=', userId).executeTakeFirst();
      if (invitee) {
        await trx.deleteFrom('organization_invitations')
          .where('user_id', 'is', null).where('username', '=', invitee.username).where('invited_by', '=', invitation.invited_by)
          .execute();
      }
      return true;
    });
  }

  /** The invitations `userId` declined whose memory lasts at `now`, newest first, to allow again. */
  async declinedBy(userId: string, now: number): Promise<DeclinedInvitation[]> {
    const rows = await this.db.selectFrom('organization_invitation_declines')
      .leftJoin('organizations', 'organizations.id', 'organization_invitation_declines.org_id')
      .innerJoin('users as inviter', 'inviter.id', 'organization_invitation_declines.invited_by')
      .select(['organization_invitation_declines.id', 'organization_invitation_declines.org_id', 'organizations.name', 'inviter.username', 'organization_invitation_declines.declined_at', 'organization_invitation_declines.expires_at'])
      .where('organization_invitation_declines.user_id', '=', userId).where('organization_invitation_declines.expires_at', '>', now)
      .orderBy('organization_invitation_declines.declined_at', 'desc').orderBy('organization_invitation_declines.id')
      .execute();
    return rows.map((row) => ({
      id: row.id, orgId: row.org_id, orgName: row.org_id === null ? null : row.name, invitedBy: row.username, declinedAt: Number(row.declined_at), expiresAt: Number(row.expires_at),
    }));
  }

  /**
   * Forgets the decline `id` of `userId`: its organization and inviter may invite the account again
   * (unless another of its declines names them). 404 `decline_not_found` when it is not theirs, or
   * is gone or lapsed.
   */
  async allowAgain(id: string, userId: string, now: number): Promise<void> {
    if (!INVITATION_ID.test(id)) throw declineNotFound();
    const deleted = await this.db.deleteFrom('organization_invitation_declines')
      .where('id', '=', id).where('user_id', '=', userId).where('expires_at', '>', now).executeTakeFirst();
    if (Number(deleted.numDeletedRows) === 0) throw declineNotFound();
  }

  /**
   * Withdraws the invitation of `username` into `orgId`, for `byUserId`, who must hold
   * `members:write` (checked under the organization's lock); 404 `invitation_not_found` when none
   * is pending.
   */
  async withdraw(orgId: string, username: string, byUserId: string): Promise<void> {
    const name = username.trim().toLowerCase();
    await this.db.transaction().execute(async (trx) => {
      if (!(await lockOrganization(trx, orgId))) throw new NotFoundError('You are not a member of this organization.', 'organization_not_found');
      await assertAllowedIn(trx, orgId, byUserId, 'members:write');
      const deleted = await trx.deleteFrom('organization_invitations').where('org_id', '=', orgId).where('username', '=', name).executeTakeFirst();
      if (Number(deleted.numDeletedRows) === 0) throw notInvited();
    });
  }

  /**
   * Deletes the invitations expired at `now`, a batch at a time (`deleteInBatches`, which on
   * PostgreSQL skips the rows another transaction holds: an organization's deletion, an admin's
   * invitations withdrawn or an account's deletion deletes many of the same expired rows in the
   * order of its own plan, by organization and username or by inviter, and the sweep waiting for
   * one of them while holding another deadlocked); returns how many went.
   */
  async sweep(now: number): Promise<number> {
    return deleteInBatches(this.db, { table: 'organization_invitations', key: 'id', where: (eb) => eb('expires_at', '<=', now) });
  }

  /**
   * Deletes the memories of declines lapsed at `now`, a batch at a time, by their `expires_at`
   * index (`deleteInBatches`, skipping the rows another transaction holds, as `sweep` does: an
   * organization's deletion sets its memories' organization to null, an account's deletion deletes
   * its memories, many rows in their own order); returns how many went.
   */
  async sweepDeclines(now: number): Promise<number> {
    return deleteInBatches(this.db, { table: 'organization_invitation_declines', key: 'id', where: (eb) => eb('expires_at', '<=', now) });
  }

  /** The pending invitation `id` of `userId`, or 404 `invitation_not_found`. */
  private async pendingOf(id: string, userId: string, now: number): Promise<{ org_id: string; invited_by: string }> {
    if (!INVITATION_ID.test(id)) throw invitationNotFound();
    const row = await this.db.selectFrom('organization_invitations').select(['org_id', 'invited_by'])
      .where('id', '=', id).where('user_id', '=', userId).where('expires_at', '>', now).executeTakeFirst();
    if (!row) throw invitationNotFound();
    return row;
  }
}
