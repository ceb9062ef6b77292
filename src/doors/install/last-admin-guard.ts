import { AccountDeletionRefused, type AccountDeletionGuard } from '../accounts/deletion-guards.js';
import type { Lang } from '../accounts/i18n.js';
import type { DurableDb } from '../../store/durable-schema.js';
import { LINK_PAGE_PATH } from './chat-commands.js';
import { installTranslator } from './install-i18n.js';
import { lockOrganization, type Organization } from './organizations.js';
import './install-rows.js';

/** The machine code of the refusal: the account is the last admin of an organization that has other members. */
export const LAST_ADMIN_OF_ORGANIZATION = 'last_admin_of_organization';

/**
 * Whether `userId` is, under the organization's lock (taken by the caller), the last admin of
 * `orgId` while others are members: looked at again under the lock, since another admin may have
 * left, or this person been removed, since the list was read.
 */
async function strandedWithout(trx: DurableDb, orgId: string, userId: string): Promise<boolean> {
  const rows = await trx.selectFrom('organization_members').select(['user_id', 'role']).where('org_id', '=', orgId).execute();
  const self = rows.find((row) => row.user_id === userId);
  const others = rows.filter((row) => row.user_id !== userId);
  return self?.role === 'admin' && others.length > 0 && !others.some((row) => row.role === 'admin');
}

/** The refusal naming `organizations`, worded in the integrations pages' catalogue. */
function refusal(organizations: readonly Organization[]): AccountDeletionRefused {
  const text = (lang: Lang) => {
    const t = installTranslator(lang);
    const orgs = new Intl.ListFormat(lang, { type: 'conjunction' }).format(organizations.map((org) => org.name));
    return t(organizations.length === 1 ? 'install.lastAdmin.one' : 'install.lastAdmin.many', { orgs, button: t('install.makeAdmin'), page: t('install.title'), url: LINK_PAGE_PATH });
  };
  return new AccountDeletionRefused(LAST_ADMIN_OF_ORGANIZATION, text, { href: LINK_PAGE_PATH, text: (lang) => installTranslator(lang)('install.title') }, {
    organizations: organizations.map((org) => ({ id: org.id, name: org.name })),
  });
}

/**
 * The install door's account-deletion guard: refuses (409 `last_admin_of_organization`) to delete
 * the account of the last admin of an organization that has other members, which would be left
 * with members and nobody able to manage it, add an admin or delete it. Promoting a member instead
 * would give someone admin rights by surprise. An organization with no other member is no reason
 * to refuse: the door's sweep deletes it once the account is gone (`deleteAbandoned`).
 *
 * It runs in the account's deleting transaction, the account's row locked (so no membership of it
 * is added meanwhile), and locks each organization the account belongs to, in id order (two
 * deletions lock alike, so neither waits on the other in a cycle), before reading its members and
 * their roles: every change of a membership or a role locks its organization first, so two admins
 * of one organization deleting their accounts at once, one removed or made a member as the other
 * deletes, or a member made admin (and the admin before them a member) as they delete, cannot
 * leave it without an admin. Not only the organizations it administers: its role read before the
 * lock may be stale.
 */
export const lastAdminGuard: AccountDeletionGuard = async (trx, userId) => {
  // Every organization the account belongs to, whatever its role read here: a member may be made
  // admin, and the admin before them a member, before this transaction locks the organization.
  const memberOf = await trx.selectFrom('organization_members').innerJoin('organizations', 'organizations.id', 'organization_members.org_id')
    .select(['organizations.id', 'organizations.name', 'organizations.created_at'])
    .where('organization_members.user_id', '=', userId)
    .orderBy('organizations.id')
    .execute();
  const stranded: Organization[] = [];
  for (const org of memberOf) {
    if (!(await lockOrganization(trx, org.id))) continue;
    if (await strandedWithout(trx, org.id, userId)) stranded.push({ id: org.id, name: org.name, createdAt: Number(org.created_at) });
  }
  if (stranded.length > 0) throw refusal(stranded.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id)));
};
