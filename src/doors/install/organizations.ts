import { Type } from 'typebox';
import { ConflictError, ForbiddenError, InvalidRequestError, NotFoundError } from '../../core/errors.js';
import { hasUnshowableText, unshowableRule } from '../shared/shown-text.js';
import { randomId } from '../../core/ids.js';
import type { DurableDb } from '../../store/durable-schema.js';
import { advisoryXactLock, needsAdvisoryLocks } from '../../store/sql/advisory-lock.js';
import { isRole, roleAllows, ROLES, type Permission, type Role } from './roles.js';
import './install-rows.js';
import '../accounts/account-rows.js';

/** An organization as its members see it. */
export interface Organization {
  id: string;
  name: string;
  createdAt: number;
}

/** A membership: the organization and the member's role in it. */
export interface Membership extends Organization {
  role: Role;
}

/** A member of an organization. */
export interface Member {
  userId: string;
  username: string;
  role: Role;
}

/** What deleting an organization removed. */
export interface DeletedOrganization {
  name: string;
  members: number;
  installations: number;
  links: number;
}

/**
 * Writes organization `orgId`'s row without changing it, inside transaction `trx`: every write
 * scoped to one organization (inviting, accepting an invitation, removing a member, linking a chat user, a setup, deleting
 * the organization) does this first, so concurrent ones wait for each other, on PostgreSQL as on
 * SQLite, and none can insert a row for an organization deleted meanwhile. False when the
 * organization no longer exists.
 */
export async function lockOrganization(trx: DurableDb, orgId: string): Promise<boolean> {
  const result = await trx.updateTable('organizations').set((eb) => ({ name: eb.ref('name') })).where('id', '=', orgId).executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Not a member: 404, whether the organization exists or not (none of their business). */
const notAMember = (): NotFoundError => new NotFoundError('You are not a member of this organization.', 'organization_not_found');

/** What each permission lets a person do, in the words of a refusal. */
const PERMISSION_WORDS: Record<Permission, string> = {
  'integrations:write': 'set up chat installations',
  'members:write': 'invite or remove other members',
  'links:write': 'link chat accounts',
  'organization:delete': 'delete the organization',
};

/** Not a member: 404; a member whose role lacks `permission`: 403. */
function assertAllowed(role: Role | undefined, permission: Permission): asserts role is Role {
  if (!role) throw notAMember();
  if (!roleAllows(role, permission)) {
    const holders = ROLES.filter((other) => roleAllows(other, permission)).map((other) => `${other}s`).join(' or ');
    throw new ForbiddenError(`Your role in this organization (${role}) does not allow you to ${PERMISSION_WORDS[permission]} (${permission}): ask one of its ${holders}.`, 'permission_denied');
  }
}

/** No member of the organization has the username given: 404. */
const memberNotFound = (): NotFoundError => new NotFoundError('This account is not a member.', 'member_not_found');

/** Why removing the last admin is refused, and what to do instead. */
const LAST_ADMIN_REMOVED = 'This is the last admin of the organization, who cannot leave it: first make another member admin (or invite one as admin and wait for them to accept), or delete the organization.';
/** Why making the last admin a member is refused, and what to do instead. */
const LAST_ADMIN_DEMOTED = 'This is the last admin of the organization, who cannot become a plain member: first make another member admin (or invite one as admin and wait for them to accept).';

/** The member `name` (a username, lower case) of `orgId`, as transaction `trx` reads it. */
async function memberIn(trx: DurableDb, orgId: string, name: string): Promise<Member | undefined> {
  const row = await trx.selectFrom('organization_members').innerJoin('users', 'users.id', 'organization_members.user_id')
    .select(['users.id', 'users.username', 'organization_members.role'])
    .where('organization_members.org_id', '=', orgId).where('users.username', '=', name)
    .executeTakeFirst();
  return row && isRole(row.role) ? { userId: row.id, username: row.username, role: row.role } : undefined;
}

/**
 * Checks, inside transaction `trx` and under the organization's lock, that `userId` still holds
 * `permission` in `orgId`: the check made before the lock (`require`, for the answer's sake) may
 * be stale, an admin made a member or removed meanwhile by another. Every write an admin's role
 * allows (adding a member, changing a role, removing one, a setup, the deletion) makes it.
 */
export async function assertAllowedIn(trx: DurableDb, orgId: string, userId: string, permission: Permission): Promise<void> {
  const caller = await trx.selectFrom('organization_members').select('role').where('org_id', '=', orgId).where('user_id', '=', userId).executeTakeFirst();
  assertAllowed(caller && isRole(caller.role) ? caller.role : undefined, permission);
}

/**
 * Refuses (409 `last_admin`, saying `message`) when no admin of `orgId` but `leaving` remains,
 * read inside `trx` under the organization's lock, so concurrent changes of its members are seen:
 * an organization is never left with members and nobody to manage them.
 */
async function assertAnotherAdmin(trx: DurableDb, orgId: string, leaving: string, message: string): Promise<void> {
  const other = await trx.selectFrom('organization_members').select('user_id').where('org_id', '=', orgId).where('role', '=', 'admin').where('user_id', '!=', leaving).executeTakeFirst();
  if (!other) throw new ConflictError(message, 'last_admin');
}

/**
 * Deletes the invitations `userId` sent into `orgId`, inside `trx`, under the organization's lock
 * (taken by the caller): an admin who loses `members:write` (made a member, removed, or leaving)
 * withdraws them at once. Kept while hidden, they came back to life when the admin was made admin
 * again within their lifetime, and could then be accepted, as admin. (Deleting the inviter's
 * account takes them all with it: `organization_invitations.invited_by` cascades.)
 */
async function withdrawInvitationsOf(trx: DurableDb, orgId: string, userId: string): Promise<void> {
  await trx.deleteFrom('organization_invitations').where('org_id', '=', orgId).where('invited_by', '=', userId).execute();
}

/** 409 `already_member`: the account invited (or accepting) is a member of the organization already. */
export const alreadyMember = (): ConflictError => new ConflictError('This account is already a member.', 'already_member');

/** The machine code of a membership refused because the account belongs to the most organizations it may. */
export const TOO_MANY_ORGANIZATIONS = 'too_many_organizations';

/**
 * Refuses (409 `too_many_organizations`) a new membership of `userId` when it belongs to `max`
 * organizations already, counted inside `trx`; on PostgreSQL after a transaction advisory lock on
 * the account, so two memberships made at once (two invitations accepted into different
 * organizations, each under its own lock, on any nodes) are counted one after the other. An
 * acceptance takes it after its organization's lock, a creation (which locks no existing
 * organization) alone, and nothing else takes it, so no two transactions wait for each other in a
 * cycle. `self`: the account is the caller's (creating, accepting), not another's. Every
 * organization of an account is read on each of its pages and is a reason its account may not be
 * deleted; the cap bounds them. (Admins used to add any account unasked, so a stranger could fill
 * another's cap: memberships now come only from the account's own acceptance, `invitations.ts`.)
 */
export async function assertRoomFor(trx: DurableDb, userId: string, max: number, self: boolean): Promise<void> {
  if (needsAdvisoryLocks(trx)) await advisoryXactLock(trx, 'pairgate.install.memberships', userId);
  const row = await trx.selectFrom('organization_members').select((eb) => eb.fn.countAll<number | string>().as('n')).where('user_id', '=', userId).executeTakeFirst();
  if (Number(row?.n ?? 0) < max) return;
  throw new ConflictError(self
    ? `Your account belongs to ${max} organizations, the most an account may: leave one (or delete one you administer) first.`
    : `This account belongs to ${max} organizations, the most an account may: it must leave one first.`, TOO_MANY_ORGANIZATIONS, { max });
}

/** Organization ids (randomId: 128 bits, base64url). Anything else is not looked up. */
export const ORG_ID_PATTERN = '^[A-Za-z0-9_-]{22}$';
const ORG_ID = new RegExp(ORG_ID_PATTERN);

/**
 * An organization name as a request carries it. The bound only keeps huge strings out: it is far
 * above the rule (`checkOrgName`, 1 to 100 characters once trimmed), so a name too long is told
 * that rule, not a second number from the schema.
 */
export const OrgNameInput = Type.String({ maxLength: 1000 });

/**
 * Checks and trims an organization name: 1 to 100 characters the pages can show as written (no
 * control or text-direction character: shared/shown-text.ts). Members see it in sentences, and
 * "Org \u202Eexe.gnp" showed as "Org png.exe".
 */
export function validateOrgName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length < 1 || trimmed.length > 100 || hasUnshowableText(trimmed)) {
    throw new InvalidRequestError(`The organization name must have 1 to 100 characters, without ${unshowableRule()}.`, { field: 'name' }, 'invalid_org_name');
  }
  return trimmed;
}

/**
 * Organizations and their members (durable). The first member of an organization is its creator,
 * as admin; admins invite others by username (`Invitations`: only the invitee's acceptance makes a
 * member), and may delete the organization. Members are pairgate accounts.
 */
export class Organizations {
  /**
   * @param maxPerAccount how many organizations one account may belong to
   *   (`PAIRGATE_INSTALL_MAX_ORGANIZATIONS_PER_ACCOUNT`); memberships held beyond it before it
   *   was lowered stay, and only new ones are refused.
   */
  constructor(private readonly db: DurableDb, readonly maxPerAccount = Number.MAX_SAFE_INTEGER) {}

  /** Creates an organization with `creatorId` as its admin; 409 `too_many_organizations` when the creator belongs to the most it may. */
  async create(name: string, creatorId: string, now: number): Promise<Membership> {
    const org = { id: randomId(), name: validateOrgName(name), created_at: now };
    await this.db.transaction().execute(async (trx) => {
      await assertRoomFor(trx, creatorId, this.maxPerAccount, true);
      await trx.insertInto('organizations').values(org).execute();
      await trx.insertInto('organization_members').values({ org_id: org.id, user_id: creatorId, role: 'admin', created_at: now }).execute();
    });
    return { id: org.id, name: org.name, createdAt: now, role: 'admin' };
  }

  /** The organizations `userId` belongs to, oldest first. */
  async listFor(userId: string): Promise<Membership[]> {
    const rows = await this.db
      .selectFrom('organization_members')
      .innerJoin('organizations', 'organizations.id', 'organization_members.org_id')
      .select(['organizations.id', 'organizations.name', 'organizations.created_at', 'organization_members.role'])
      .where('organization_members.user_id', '=', userId)
      .orderBy('organizations.created_at')
      .orderBy('organizations.id')
      .execute();
    return rows.filter((row) => isRole(row.role)).map((row) => ({ id: row.id, name: row.name, createdAt: Number(row.created_at), role: row.role as Role }));
  }

  /** The membership of `userId` in `orgId`, if any. */
  async membership(orgId: string, userId: string): Promise<Membership | undefined> {
    if (!ORG_ID.test(orgId)) return undefined;
    return (await this.listFor(userId)).find((org) => org.id === orgId);
  }

  /**
   * The membership of `userId` in `orgId` when it grants `permission`. Not a member: 404 (whether
   * the organization exists is none of their business); a member without the permission: 403.
   */
  async require(orgId: string, userId: string, permission: Permission): Promise<Membership> {
    const membership = await this.membership(orgId, userId);
    assertAllowed(membership?.role, permission);
    return membership!;
  }

  /** The organization `orgId`. */
  async find(orgId: string): Promise<Organization | undefined> {
    if (!ORG_ID.test(orgId)) return undefined;
    const row = await this.db.selectFrom('organizations').selectAll().where('id', '=', orgId).executeTakeFirst();
    return row ? { id: row.id, name: row.name, createdAt: Number(row.created_at) } : undefined;
  }

  /** The members of `orgId`, by username. */
  async members(orgId: string): Promise<Member[]> {
    const rows = await this.db
      .selectFrom('organization_members')
      .innerJoin('users', 'users.id', 'organization_members.user_id')
      .select(['users.id', 'users.username', 'organization_members.role'])
      .where('organization_members.org_id', '=', orgId)
      .orderBy('users.username')
      .execute();
    return rows.filter((row) => isRole(row.role)).map((row) => ({ userId: row.id, username: row.username, role: row.role as Role }));
  }

  /**
   * Gives `username` the role `role` in `orgId`, for `byUserId`, who must hold `members:write`;
   * their chat links stay. 404 when not a member; 409 `last_admin` rather than make the
   * organization's last admin a member. In one transaction under the organization's lock, the
   * caller's permission, the member's role and the admins are all read there: two admins making
   * each other members at once wait for each other, and the second sees the first's change.
   * Giving a member the role they have changes nothing. A member whose new role loses
   * `members:write` loses their pending invitations in the organization too (`withdrawInvitationsOf`).
   */
  async setRole(orgId: string, username: string, role: Role, byUserId: string): Promise<Member> {
    const name = username.trim().toLowerCase();
    if (!ORG_ID.test(orgId)) throw notAMember();
    return this.db.transaction().execute(async (trx) => {
      if (!(await lockOrganization(trx, orgId))) throw notAMember();
      await assertAllowedIn(trx, orgId, byUserId, 'members:write');
      const member = await memberIn(trx, orgId, name);
      if (!member) throw memberNotFound();
      if (member.role === role) return member;
      if (member.role === 'admin' && role !== 'admin') await assertAnotherAdmin(trx, orgId, member.userId, LAST_ADMIN_DEMOTED);
      await trx.updateTable('organization_members').set({ role }).where('org_id', '=', orgId).where('user_id', '=', member.userId).execute();
      if (roleAllows(member.role, 'members:write') && !roleAllows(role, 'members:write')) await withdrawInvitationsOf(trx, orgId, member.userId);
      return { ...member, role };
    });
  }

  /**
   * Removes `username` from `orgId`, with their chat links in it (they no longer act for the
   * organization), for `byUserId`: anyone may remove themselves (`links:write`), admins others
   * (`members:write`). 404 when not a member; 409 `last_admin` rather than leave nobody to
   * administer it. The caller's permission and the member's role are read under the organization's
   * lock: read before it, a role changed meanwhile (`setRole`) let the last admin go. Their pending
   * invitations in the organization go too (`withdrawInvitationsOf`).
   */
  async removeMember(orgId: string, username: string, byUserId: string): Promise<void> {
    const name = username.trim().toLowerCase();
    if (!ORG_ID.test(orgId)) throw notAMember();
    await this.db.transaction().execute(async (trx) => {
      // Two admins removing each other at once must not both succeed: locking the organization
      // makes concurrent removals in it wait for each other, so the count below sees the other's.
      if (!(await lockOrganization(trx, orgId))) throw notAMember();
      const member = await memberIn(trx, orgId, name);
      await assertAllowedIn(trx, orgId, byUserId, member?.userId === byUserId ? 'links:write' : 'members:write');
      if (!member) throw memberNotFound();
      if (member.role === 'admin') await assertAnotherAdmin(trx, orgId, member.userId, LAST_ADMIN_REMOVED);
      await trx.deleteFrom('chat_links').where('org_id', '=', orgId).where('user_id', '=', member.userId).execute();
      await withdrawInvitationsOf(trx, orgId, member.userId);
      await trx.deleteFrom('organization_members').where('org_id', '=', orgId).where('user_id', '=', member.userId).execute();
    });
  }

  /**
   * Deletes `orgId` for `byUserId`, who must hold `organization:delete` (checked again inside the
   * transaction, after the lock, so a concurrent removal of that admin is seen). In one
   * transaction: its chat links, its pending invitations, its chat installations (sealed secrets
   * and bot tokens with them), its memberships, then the organization. Everything scoped to it locks it first, so nothing can
   * be added to it meanwhile; what was in flight and comes after finds it gone (a 404, never a
   * dangling row). Its link tokens are grants, not rows: spending one checks that the organization
   * still exists. The accounts of its members are not touched.
   */
  async delete(orgId: string, byUserId: string): Promise<DeletedOrganization> {
    if (!ORG_ID.test(orgId)) throw notAMember();
    return this.db.transaction().execute(async (trx) => {
      if (!(await lockOrganization(trx, orgId))) throw notAMember();
      const organization = await trx.selectFrom('organizations').select('name').where('id', '=', orgId).executeTakeFirstOrThrow();
      const caller = await trx.selectFrom('organization_members').select('role').where('org_id', '=', orgId).where('user_id', '=', byUserId).executeTakeFirst();
      assertAllowed(caller && isRole(caller.role) ? caller.role : undefined, 'organization:delete');
      // Children first: the foreign keys would cascade, but saying it here does not depend on them.
      const links = await trx.deleteFrom('chat_links').where('org_id', '=', orgId).executeTakeFirst();
      await trx.deleteFrom('organization_invitations').where('org_id', '=', orgId).execute();
      const installations = await trx.deleteFrom('chat_installations').where('org_id', '=', orgId).executeTakeFirst();
      const members = await trx.deleteFrom('organization_members').where('org_id', '=', orgId).executeTakeFirst();
      await trx.deleteFrom('organizations').where('id', '=', orgId).execute();
      return { name: organization.name, members: Number(members.numDeletedRows), installations: Number(installations.numDeletedRows), links: Number(links.numDeletedRows) };
    });
  }

  /**
   * Deletes every organization that has no member left, with its chat installations (sealed
   * secrets, bot tokens, the chat site's address), links and invitations, each in one transaction under its lock.
   * Deleting an account takes its memberships with it (a foreign key), so an organization whose
   * last member left that way could be reached and deleted by no one and was kept for ever.
   * Created with its first member in one transaction, an organization is never seen memberless
   * before that. Returns how many went.
   */
  async deleteAbandoned(): Promise<{ organizations: number }> {
    const memberless = (trx: DurableDb) => trx.selectFrom('organizations').select('organizations.id').where(({ not, exists, selectFrom }) => not(exists(
      selectFrom('organization_members').select('organization_members.user_id').whereRef('organization_members.org_id', '=', 'organizations.id'),
    )));
    let organizations = 0;
    for (const { id } of await memberless(this.db).execute()) {
      const deleted = await this.db.transaction().execute(async (trx) => {
        if (!(await lockOrganization(trx, id))) return false;
        // Looked at again under the lock: a member added since keeps it.
        if (!(await memberless(trx).where('organizations.id', '=', id).executeTakeFirst())) return false;
        await trx.deleteFrom('chat_links').where('org_id', '=', id).execute();
        await trx.deleteFrom('organization_invitations').where('org_id', '=', id).execute();
        await trx.deleteFrom('chat_installations').where('org_id', '=', id).execute();
        await trx.deleteFrom('organizations').where('id', '=', id).execute();
        return true;
      });
      if (deleted) organizations++;
    }
    return { organizations };
  }
}
