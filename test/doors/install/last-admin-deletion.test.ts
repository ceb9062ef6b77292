import { describe, expect, it, vi } from 'vitest';
import { postgresMissing } from '../../helpers/services.js';
import type { Member } from './install-helpers.js';
import { useInstallStoreApp } from './install-store-app.js';

const skipPostgres = await postgresMissing();
const PASSWORD = 'correct horse battery';

/**
 * Deleting an account takes its memberships with it (a foreign key). The last admin of an
 * organization that still had other members left it with members and no admin: nobody could
 * delete it, change its installations or add an admin again. Such a deletion is now refused (409
 * `last_admin_of_organization`, the form again in the page's language naming the organizations
 * and the page to go to), with nothing deleted, also when two deletions or a deletion and a
 * member's leaving race. Real sockets; only the interval timers are faked, to run the install
 * door's sweep at once.
 */
describe.each([
  { store: 'SQLite' as const, skip: undefined as string | undefined },
  { store: 'PostgreSQL' as const, skip: skipPostgres },
])('install door: the last admin of an organization deleting their account ($store)', ({ store, skip }) => {
  const server = useInstallStoreApp(store, skip, {
    // Only the interval timers are faked, to run the install door's sweep at once.
    before: () => vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] }),
    after: () => vi.useRealTimers(),
  });
  const { person, organization } = server;
  const db = () => server.app.app.pairgate.stores.db;
  const accountExists = async (username: string) => (await db().selectFrom('users').select('id').where('username', '=', username).executeTakeFirst()) !== undefined;
  const membersOf = async (orgId: string) => (await db().selectFrom('organization_members').select(['user_id', 'role']).where('org_id', '=', orgId).execute());
  const adminsOf = async (orgId: string) => (await membersOf(orgId)).filter((row) => row.role === 'admin').length;
  const deleteAccount = (member: Member, lang = 'en') => member.post('/account/delete', { password: PASSWORD, lang });

  it.skipIf(Boolean(skip))('is refused with 409 and the page\'s words in English, naming the organization and the page to go to; nothing is deleted', async () => {
    const admin = await person('lone-admin');
    const member = await person('plain-member');
    const orgId = await organization(admin, 'Acme Works', [[member]]);

    await admin.get('/account/delete?lang=en');
    const refused = await deleteAccount(admin);
    expect(refused.status).toBe(409);
    expect(refused.text).toContain('data-code="last_admin_of_organization"');
    expect(refused.text).toContain('you are the last admin of the organization Acme Works, which has other members');
    expect(refused.text).toContain('First give it another admin (press &quot;Make admin&quot; next to a member in its list of members), or delete the organization, on the page &quot;Organizations and chat&quot; (/integrations)');
    expect(refused.text).toContain('<a href="/integrations" id="refusal-link">Organizations and chat</a>');
    // The password was right: no field is marked wrong.
    expect(refused.text).not.toContain('aria-invalid');

    // Nothing went: the account, its membership, its session.
    expect(await accountExists(admin.username)).toBe(true);
    expect(await membersOf(orgId)).toHaveLength(2);
    expect(await adminsOf(orgId)).toBe(1);
    expect((await admin.get('/account/delete')).status).toBe(200);
    expect((await admin.json('GET', '/api/v1/organizations')).body.organizations).toHaveLength(1);
  });

  it.skipIf(Boolean(skip))('is refused in French on a French page, naming every such organization', async () => {
    const admin = await person('admin-fr');
    const member = await person('membre-fr');
    const first = await organization(admin, 'Atelier', [[member]]);
    const second = await organization(admin, 'Boutique', [[member]]);
    // One where another admin remains is not named.
    const coAdmin = await person('co-admin-fr');
    await organization(admin, 'Collectif', [[coAdmin, 'admin'], [member]]);

    await admin.get('/account/delete?lang=fr');
    const refused = await deleteAccount(admin, 'fr');
    expect(refused.status).toBe(409);
    expect(refused.text).toContain('data-code="last_admin_of_organization"');
    expect(refused.text).toContain('vous êtes le dernier administrateur des organisations Atelier et Boutique, qui ont d’autres membres');
    expect(refused.text).toContain('sur la page «\u00a0Organisations et messagerie\u00a0» (/integrations)');
    expect(refused.text).not.toContain('Collectif');
    expect(refused.text).toContain('<a href="/integrations" id="refusal-link">Organisations et messagerie</a>');
    expect(await accountExists(admin.username)).toBe(true);
    for (const orgId of [first, second]) expect(await adminsOf(orgId)).toBe(1);
  });

  it.skipIf(Boolean(skip))('is allowed once the organization has another admin', async () => {
    const admin = await person('handing-over');
    const member = await person('staying-on');
    const successor = await person('successor');
    const orgId = await organization(admin, 'Handed Over', [[member]]);
    expect((await deleteAccount(admin)).status).toBe(409);

    expect((await admin.addMember(orgId, successor.username, 'admin')).status).toBe(201);
    const deleted = await deleteAccount(admin);
    expect(deleted.status).toBe(200);
    expect(await accountExists(admin.username)).toBe(false);
    expect(await membersOf(orgId)).toHaveLength(2);
    expect(await adminsOf(orgId)).toBe(1);
  });

  it.skipIf(Boolean(skip))('is allowed once the organization is deleted', async () => {
    const admin = await person('closing-down');
    const member = await person('left-behind');
    const orgId = await organization(admin, 'Closing Down', [[member]]);
    expect((await deleteAccount(admin)).status).toBe(409);

    expect((await admin.json('DELETE', `/api/v1/organizations/${orgId}`)).status).toBe(204);
    expect((await deleteAccount(admin)).status).toBe(200);
    expect(await accountExists(admin.username)).toBe(false);
    expect(await accountExists(member.username)).toBe(true);
  });

  it.skipIf(Boolean(skip))('is allowed for the only member of an organization, which the sweep then deletes', async () => {
    const admin = await person('only-one');
    const orgId = await organization(admin, 'Solo', []);
    expect((await deleteAccount(admin)).status).toBe(200);
    expect(await accountExists(admin.username)).toBe(false);
    await vi.advanceTimersByTimeAsync(60_000);
    await vi.waitFor(async () => expect(await db().selectFrom('organizations').select('id').where('id', '=', orgId).executeTakeFirst()).toBeUndefined(), { timeout: 5_000 });
  });

  /**
   * Races that would leave an organization with members and no admin: its two admins deleting
   * their accounts at once, or one deleting while the other leaves. Each alone is allowed (the
   * other admin remains); together at most one may go. Several organizations at once, so the two
   * requests of each meet inside their transactions.
   */
  it.skipIf(Boolean(skip))('two admins deleting their accounts at once, or one leaving as the other deletes, never leave an organization without an admin', async () => {
    const rounds = 6;
    const orgs = await Promise.all(Array.from({ length: rounds }, async (_, round) => {
      const first = await person(`race-a${round}`);
      const second = await person(`race-b${round}`);
      const member = await person(`race-m${round}`);
      const orgId = await organization(first, `Race ${round}`, [[second, 'admin'], [member]]);
      return { orgId, first, second };
    }));
    const answers = await Promise.all(orgs.map(async ({ orgId, first, second }, round) => {
      const leave = round % 2 === 1;
      const [a, b] = await Promise.all([
        deleteAccount(first).then((answer) => answer.status),
        leave ? second.json('DELETE', `/api/v1/organizations/${orgId}/members/${second.username}`).then((answer) => answer.status) : deleteAccount(second).then((answer) => answer.status),
      ]);
      return { orgId, leave, a, b };
    }));
    for (const { orgId, leave, a, b } of answers) {
      // One of the two went (200 deleted, 204 left); the other was refused (409 `last_admin_of_organization` or `last_admin`).
      const what = `${leave ? 'leave' : 'delete'} ${orgId}: ${a} ${b}`;
      expect([a, b].filter((status) => status === 200 || status === 204), what).toHaveLength(1);
      expect([a, b], what).toContain(409);
      expect(await adminsOf(orgId)).toBe(1);
      expect(await membersOf(orgId)).toHaveLength(2);
    }
  });
});
