import pg from 'pg';
import { describe, expect, it } from 'vitest';
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
    const other = new pg.Client({ connectionString: server.databaseUrl });
    const watcher = new pg.Client({ connectionString: server.databaseUrl });
    await other.connect();
    await watcher.connect();
    try {
      const userId = (await other.query<{ id: string }>('select id from users where username = $1', [demoted.username])).rows[0]!.id;
      await other.query('begin');
      await other.query('update organizations set name = name where id = $1', [orgId]);
      const answer = going();
      for (let i = 0; ; i++) {
        const { rows } = await watcher.query<{ n: string }>('select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = $1 and pid <> $2', ['Lock', (other as unknown as { processID: number }).processID]);
        if (Number(rows[0]!.n) > 0) break;
        if (i > 500) throw new Error('the request never waited for the lock');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      if (how === 'member') await other.query('update organization_members set role = $1 where org_id = $2 and user_id = $3', ['member', orgId, userId]);
      else await other.query('delete from organization_members where org_id = $1 and user_id = $2', [orgId, userId]);
      await other.query('commit');
      return await answer;
    } finally {
      await other.end();
      await watcher.end();
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
