import { InvalidRequestError, NotFoundError } from '../../core/errors.js';
import type { Membership, Organizations } from './organizations.js';
import type { Permission } from './roles.js';

/**
 * The organization a signed-in request acts in, holding `permission`: the one named by `orgId`,
 * or, when none is named, the user's only organization. 404 when the user is in none (or not in
 * the one named), 403 when the role lacks the permission, 400 when several could be meant.
 */
export async function chooseOrg(orgs: Organizations, userId: string, orgId: string | undefined, permission: Permission): Promise<Membership> {
  if (orgId !== undefined) return orgs.require(orgId, userId, permission);
  const memberships = await orgs.listFor(userId);
  if (memberships.length === 0) throw new NotFoundError('You are not a member of any organization. Create one first.', 'organization_not_found');
  if (memberships.length > 1) throw new InvalidRequestError('You are in several organizations: say which with org_id.', { field: 'org_id' }, 'org_id_required');
  return orgs.require(memberships[0]!.id, userId, permission);
}
