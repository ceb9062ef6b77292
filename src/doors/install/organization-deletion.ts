import type { User } from '../accounts/users.js';
import type { ChatKit } from './chat-kit.js';
import type { Connector } from './connector.js';
import type { DeletedOrganization, Membership } from './organizations.js';

/** What deleting an organization would remove, for the confirmation page. */
export interface DeletionSummary {
  members: number;
  /** The live installations, one per connector, by the connector's name for people (`nameOf`). */
  installations: { connector: string; siteUrl: string | null }[];
  links: number;
}

/**
 * Deletes organization `orgId` for `user`, who must be one of its admins (`organization:delete`;
 * 404 for a non-member, 403 for a member), and logs what went (ids and counts only). The one way
 * the API route and the page delete, so both check and log alike.
 */
export async function deleteOrganization(kit: ChatKit, user: User, orgId: string): Promise<DeletedOrganization> {
  // A read first, so a stranger's or a member's request is refused without taking the organization's lock.
  await kit.orgs.require(orgId, user.id, 'organization:delete');
  const deleted = await kit.orgs.delete(orgId, user.id);
  kit.ctx.logger.info({ org: orgId, by: user.id, members: deleted.members, installations: deleted.installations, links: deleted.links }, 'organization deleted');
  return deleted;
}

/**
 * Whether `typed` confirms the deletion of the organization named `name`: the name exactly as
 * shown (case included), spaces around it aside. Typing it, as GitHub, GitLab or Vercel ask
 * before deleting an organization or a project, makes the admin read which one is going: the
 * mistake to stop on a page listing several is the wrong one, or a stray click.
 */
export function confirmsName(name: string, typed: string): boolean {
  return typed.trim() === name;
}

/**
 * What deleting `org` would remove: its members, live installations (each connector named by
 * `nameOf`, in the page's language: there is no default, as `displayName` reads wrong mid-sentence)
 * and linked chat users.
 */
export async function deletionSummary(kit: ChatKit, org: Membership, connectors: readonly Connector[], nameOf: (connector: Connector) => string): Promise<DeletionSummary> {
  const now = kit.ctx.clock.now();
  const installations = (await Promise.all(connectors.map(async (connector) => {
    const current = await kit.installations.current(org.id, connector.name, now);
    return current ? { connector: nameOf(connector), siteUrl: current.siteUrl } : undefined;
  }))).filter((line) => line !== undefined);
  return { members: (await kit.orgs.members(org.id)).length, installations, links: await kit.links.countIn(org.id) };
}
