import { describe, expect, it } from 'vitest';
import { holdRows, untilWaiting } from '../../helpers/lock-races.js';
import { postgresMissing } from '../../helpers/services.js';
import { useInstallStoreApp, type Person } from './install-store-app.js';

const skip = await postgresMissing();

/**
 * An admin's permission is what holds when their change is made, not when it was asked: adding a
 * member (as admin, say) and setting up a chat check it again under the organization's lock, as
 * role changes, removals and deletions do. Read before the lock only, an admin made a member (or
 * removed) while their request waited still added an admin of their choosing, or rotated the
 * chat's installation and got its new secret. PostgreSQL only: on SQLite a transaction runs alone.
 */
describe.skipIf(Boolean(skip))('install door: an admin demoted while their change waits (PostgreSQL)', () => {
  const server = useInstallStoreApp('PostgreSQL', skip);
  const { person, organization } = server;
  const db = () => server.app.app.pairgate.stores.db;

  /** Holds `orgId`'s lock, runs `going` until it waits for it, then makes `demoted` a member (or removes them) and commits. */
  const racing = async (orgId: string, demoted: Person, how: 'member' | 'removed', going: () => Promise<{ status: number; body?: unknown }>) => {
    const userId = (await db().selectFrom('users').select('id').where('username', '=', demoted.username).executeTakeFirstOrThrow()).id;
    const holder = await holdRows(server.databaseUrl, 'update organizations set name = name where id = $1', [orgId]);
    try {
      const answer = going();
      await untilWaiting(db());
      if (how === 'member') await holder.client.query('update organization_members set role = $1 where org_id = $2 and user_id = $3', ['member', orgId, userId]);
      else await holder.client.query('delete from organization_members where org_id = $1 and user_id = $2', [orgId, userId]);
      await holder.release();
      return await answer;
    } finally {
      await holder.release();
    }
  };

  const rolesOf = async (orgId: string) => Object.fromEntries((await db().selectFrom('organization_members').innerJoin('users', 'users.id', 'organization_members.user_id')
    .select(['users.username', 'organization_members.role']).where('org_id', '=', orgId).execute()).map((row) => [row.username, row.role]));

  it('one made a member meanwhile adds no admin (403 permission_denied)', async () => {
    const first = await person('lock-add-a');
    const rogue = await person('lock-add-b');
    const puppet = await person('lock-add-puppet');
    const orgId = await organization(first, 'Lock Add', [[rogue, 'admin']]);
    const answer = await racing(orgId, rogue, 'member', () => rogue.addMember(orgId, puppet.username, 'admin'));
    expect(answer.status).toBe(403);
    expect((answer.body as { error: string }).error).toBe('permission_denied');
    expect(await rolesOf(orgId)).toEqual({ [first.username]: 'admin', [rogue.username]: 'member' });
  });

  it('one removed meanwhile adds no one (404), on the page too', async () => {
    const first = await person('lock-page-a');
    const rogue = await person('lock-page-b');
    const puppet = await person('lock-page-puppet');
    const orgId = await organization(first, 'Lock Page', [[rogue, 'admin']]);
    await rogue.get('/integrations?lang=en');
    const answer = await racing(orgId, rogue, 'removed', () => rogue.post(`/integrations/orgs/${orgId}/members`, { username: puppet.username, role: 'admin', lang: 'en' }));
    expect(answer.status).toBe(404);
    expect(await rolesOf(orgId)).toEqual({ [first.username]: 'admin' });
  });

  it('one made a member meanwhile sets up nothing: the installation is not rotated, no secret is shown', async () => {
    const first = await person('lock-setup-a');
    const rogue = await person('lock-setup-b');
    const orgId = await organization(first, 'Lock Setup', [[rogue, 'admin']]);
    const answer = await racing(orgId, rogue, 'member', () => rogue.setup(orgId, 'webhook'));
    expect(answer.status).toBe(403);
    expect((answer.body as { error: string }).error).toBe('permission_denied');
    expect(JSON.stringify(answer.body)).not.toContain('signing_secret');
    expect(await db().selectFrom('chat_installations').select('id').where('org_id', '=', orgId).execute()).toEqual([]);
  });
});
