import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/core/clock.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { browserSkipReason, settledForDecision } from '../../helpers/browser.js';
import { useBrowserApp } from '../../helpers/browser-app.js';
import { holdRows, untilWaiting } from '../../helpers/lock-races.js';
import { postgresMissing } from '../../helpers/services.js';
import { FakeMattermost, INSTALL_ENV, installConnector, Member, mattermostId } from './install-helpers.js';
import { useInstallStoreApp, type Person } from './install-store-app.js';

const skipPostgres = await postgresMissing();
const skipBrowser = browserSkipReason();
const PASSWORD = 'correct horse battery';


/**
 * Changing a member's role in an organization: `PATCH /api/v1/organizations/<org>/members/<username>`
 * and the role buttons of the integrations page. Before, an admin could only remove a member and
 * add them back as admin, and the member lost their chat links. The last admin is never made a
 * plain member (409 `last_admin`), nor removed, nor lets their account go, also when changes race
 * on PostgreSQL. Real sockets, real SQLite and PostgreSQL.
 */
describe.each([
  { store: 'SQLite' as const, skip: undefined as string | undefined },
  { store: 'PostgreSQL' as const, skip: skipPostgres },
])('install door: changing a member\'s role ($store)', ({ store, skip }) => {
  const server = useInstallStoreApp(store, skip);
  const { person, organization, suffix } = server;
  const db = () => server.app.app.pairgate.stores.db;
  const setRole = (by: Member, orgId: string, username: string, body: unknown) => by.json('PATCH', `/api/v1/organizations/${orgId}/members/${username}`, body);
  const rolesOf = async (orgId: string) => Object.fromEntries((await db().selectFrom('organization_members').innerJoin('users', 'users.id', 'organization_members.user_id')
    .select(['users.username', 'organization_members.role']).where('org_id', '=', orgId).execute()).map((row) => [row.username, row.role]));
  const adminsOf = async (orgId: string) => Object.values(await rolesOf(orgId)).filter((role) => role === 'admin').length;
  /** The row of `username` in a page's list of members (its HTML). */
  const rowOf = (html: string, username: string) => new RegExp(`<li data-member="${username}">[^]*?</li>`).exec(html)?.[0] ?? '';

  it.skipIf(Boolean(skip))('an admin makes a member admin and a member again; the member keeps their chat link', async () => {
    const admin = await person('promoter');
    const member = await person('promoted');
    const orgId = await organization(admin, 'Promotions', [[member]]);
    // The member links their Mattermost account: removing and adding them back would lose it.
    const installed = await installConnector(server.base, admin, orgId);
    const mm = new FakeMattermost(server.base, systemClock);
    const chatUser = { id: mattermostId(`promoted${suffix}`), username: 'promoted' };
    const token = (await member.linkToken(orgId)).body.token as string;
    expect((await mm.call(installed.id, 'link', installed.secret, chatUser, { values: { token } })).status).toBe(200);

    const promoted = await setRole(admin, orgId, member.username, { role: 'admin' });
    expect(promoted.status).toBe(200);
    expect(promoted.body).toEqual({ user_id: expect.any(String), username: member.username, role: 'admin' });
    expect(await rolesOf(orgId)).toEqual({ [admin.username]: 'admin', [member.username]: 'admin' });
    // Now an admin: they may set up chats and change roles.
    expect((await member.setup(orgId, 'webhook')).status).toBe(201);
    // Giving the role they have changes nothing.
    expect((await setRole(admin, orgId, member.username, { role: 'admin' })).body.role).toBe('admin');
    // Usernames are read as the accounts door reads them (case, spaces).
    const demoted = await setRole(member, orgId, admin.username.toUpperCase(), { role: 'member' });
    expect(demoted.status).toBe(200);
    expect(demoted.body.role).toBe('member');
    expect(await rolesOf(orgId)).toEqual({ [admin.username]: 'member', [member.username]: 'admin' });
    expect((await mm.call(installed.id, 'status', installed.secret, chatUser)).body.data.linked).toBe(true);
    // The listing says the same.
    const listed = await member.json('GET', `/api/v1/organizations/${orgId}/members`);
    expect(listed.body.members).toEqual(expect.arrayContaining([{ user_id: expect.any(String), username: admin.username, role: 'member' }]));
  });

  it.skipIf(Boolean(skip))('the last admin cannot become a member (409 last_admin, saying what to do); once another is admin, they can', async () => {
    const admin = await person('last-one');
    const member = await person('next-one');
    const orgId = await organization(admin, 'Last Admin', [[member]]);
    const refused = await setRole(admin, orgId, admin.username, { role: 'member' });
    expect(refused.status).toBe(409);
    expect(refused.body).toEqual({ error: 'last_admin', message: 'This is the last admin of the organization, who cannot become a plain member: first make another member admin (or invite one as admin and wait for them to accept).' });
    expect(await adminsOf(orgId)).toBe(1);
    // Alone in it, the same: an organization with a member and no admin could not be managed.
    const solo = await person('solo-admin');
    const soloOrg = await organization(solo, 'Solo', []);
    expect((await setRole(solo, soloOrg, solo.username, { role: 'member' })).body.error).toBe('last_admin');

    expect((await setRole(admin, orgId, member.username, { role: 'admin' })).status).toBe(200);
    expect((await setRole(admin, orgId, admin.username, { role: 'member' })).status).toBe(200);
    expect(await rolesOf(orgId)).toEqual({ [admin.username]: 'member', [member.username]: 'admin' });
  });

  // Only an admin removes others, so the last admin is removed only by leaving.
  it.skipIf(Boolean(skip))('the last admin\'s leaving is refused with words that point at making a member admin', async () => {
    const admin = await person('stays-admin');
    const member = await person('stays-member');
    const orgId = await organization(admin, 'No Leaving', [[member]]);
    const refused = await admin.json('DELETE', `/api/v1/organizations/${orgId}/members/${admin.username}`);
    expect(refused.status).toBe(409);
    expect(refused.body).toEqual({ error: 'last_admin', message: 'This is the last admin of the organization, who cannot leave it: first make another member admin (or invite one as admin and wait for them to accept), or delete the organization.' });
    expect(await rolesOf(orgId)).toEqual({ [admin.username]: 'admin', [member.username]: 'member' });
  });

  it.skipIf(Boolean(skip))('a plain member may not change roles (403), an unknown member is 404, a role that is none is 400', async () => {
    const admin = await person('role-admin');
    const member = await person('role-member');
    const outsider = await person('role-outsider');
    const orgId = await organization(admin, 'Rules', [[member]]);

    const byMember = await setRole(member, orgId, member.username, { role: 'admin' });
    expect(byMember.status).toBe(403);
    expect(byMember.body).toEqual({ error: 'permission_denied', message: 'Your role in this organization (member) does not allow you to invite or remove other members (members:write): ask one of its admins.' });
    expect((await setRole(outsider, orgId, member.username, { role: 'admin' })).body).toMatchObject({ error: 'organization_not_found' });
    expect((await setRole(admin, 'A'.repeat(22), member.username, { role: 'admin' })).status).toBe(404);

    const unknown = await setRole(admin, orgId, outsider.username, { role: 'admin' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe('member_not_found');
    expect((await setRole(admin, orgId, 'nobody-here', { role: 'admin' })).body.error).toBe('member_not_found');

    for (const body of [{ role: 'owner' }, {}, { role: 1 }]) {
      const bad = await setRole(admin, orgId, member.username, body);
      expect(bad.status, JSON.stringify(body)).toBe(400);
      expect(bad.body.error).toBe('validation_failed');
    }
    // A browser's cross-site request is refused as the other routes refuse it.
    expect((await admin.json('PATCH', `/api/v1/organizations/${orgId}/members/${member.username}`, { role: 'admin' }, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect(await rolesOf(orgId)).toEqual({ [admin.username]: 'admin', [member.username]: 'member' });
  });

  it.skipIf(Boolean(skip))('the account deletion refusal points at making a member admin on the page, in English and French', async () => {
    const admin = await person('deleting-admin');
    const member = await person('kept-member');
    await organization(admin, 'Kept', [[member]]);
    await admin.get('/account/delete?lang=en');
    const english = await admin.post('/account/delete', { password: PASSWORD, lang: 'en' });
    expect(english.status).toBe(409);
    expect(english.text).toContain('First give it another admin (press &quot;Make admin&quot; next to a member in its list of members), or delete the organization, on the page &quot;Organizations and chat&quot; (/integrations)');
    await admin.get('/account/delete?lang=fr');
    const french = await admin.post('/account/delete', { password: PASSWORD, lang: 'fr' });
    expect(french.status).toBe(409);
    expect(french.text).toContain('Donnez-lui d’abord un autre administrateur (appuyez sur «\u00a0Nommer administrateur\u00a0» à côté d’un membre dans sa liste de membres)');
  });

  it.skipIf(Boolean(skip))('the page: an admin makes a member admin and back with the buttons next to each member; the only admin has none, and theirs sent anyway is refused in French', async () => {
    const admin = await person('page-admin');
    const member = await person('page-member');
    const orgId = await organization(admin, 'Page Org', [[member]]);
    const action = (username: string) => `/integrations/orgs/${orgId}/members/${username}/role`;

    const page = await admin.get('/integrations?lang=en');
    expect(page.text).toContain(`action="${action(member.username)}"`);
    expect(page.text).toMatch(new RegExp(`action="${action(member.username)}"[^]*?name="role" value="admin">[^]*?Make admin</button>`));
    // The only admin is offered no "Make member" (the server would refuse it), but told why.
    expect(page.text).not.toContain(`action="${action(admin.username)}"`);
    expect(rowOf(page.text, admin.username)).toContain('You are its only admin: to become a plain member, first make another member admin.');
    expect(rowOf(page.text, admin.username)).not.toContain('<button');
    expect(rowOf(page.text, member.username)).not.toContain('only admin');
    // A member sees no member list and no role button.
    expect((await member.get('/integrations?lang=en')).text).not.toContain('/role"');

    const promoted = await admin.post(action(member.username), { role: 'admin', lang: 'en' });
    expect(promoted.status).toBe(303);
    expect(promoted.location).toBe('/integrations?done=role');
    const twoAdmins = await admin.get('/integrations?done=role&lang=en');
    expect(twoAdmins.text).toContain('The member&#39;s role was changed.');
    expect(await adminsOf(orgId)).toBe(2);
    // Two admins: each may become a plain member, so each has the button, and no note.
    for (const username of [admin.username, member.username]) {
      expect(twoAdmins.text).toMatch(new RegExp(`action="${action(username)}"[^]*?name="role" value="member">[^]*?Make member</button>`));
    }
    expect(twoAdmins.text).not.toContain('only admin');
    // Sent again (a reload): the same role, nothing else changes.
    expect((await admin.post(action(member.username), { role: 'admin', lang: 'en' })).status).toBe(303);
    expect((await admin.post(action(member.username), { role: 'member', lang: 'en' })).status).toBe(303);
    expect(await rolesOf(orgId)).toEqual({ [admin.username]: 'admin', [member.username]: 'member' });

    // Alone again: in French, the note and no button.
    const french = await admin.get('/integrations?lang=fr');
    expect(rowOf(french.text, admin.username)).toContain('Vous en êtes le seul administrateur\u00a0: pour devenir simple membre, nommez d’abord un autre membre administrateur.');
    expect(rowOf(french.text, admin.username)).not.toContain('Rendre simple membre');

    // The last admin's own "Make member" sent all the same (a page shown while there were two
    // admins): a page in French saying why and what to do.
    const refused = await admin.post(action(admin.username), { role: 'member', lang: 'fr' });
    expect(refused.status).toBe(409);
    expect(refused.text).toContain('C’est le dernier administrateur de l’organisation\u00a0: il ne peut ni devenir simple membre ni la quitter, sinon personne ne pourrait plus la gérer. Nommez d’abord un autre membre administrateur (ou invitez-en un comme administrateur et attendez qu’il accepte)\u00a0; rien n’a été changé.');
    expect(refused.text).toContain('href="/integrations"');
    const gone = await admin.post(`/integrations/orgs/${orgId}/members/nobody-here/role`, { role: 'admin', lang: 'fr' });
    expect(gone.status).toBe(404);
    expect(gone.text).toContain('Ce compte n’est pas (ou plus) membre de l’organisation\u00a0: rien n’a été changé.');
    expect(await adminsOf(orgId)).toBe(1);

    // Without the CSRF token, or by a plain member: refused, nothing changed.
    expect((await admin.post(action(member.username), { role: 'admin', _csrf: 'forged' })).status).toBe(403);
    await member.get('/integrations');
    expect((await member.post(action(member.username), { role: 'admin' })).status).toBe(403);
    expect(await rolesOf(orgId)).toEqual({ [admin.username]: 'admin', [member.username]: 'member' });
  });

  /**
   * Two admins making each other members at once: each alone is allowed (the other admin remains);
   * together, the organization's lock makes the second see the first, so one admin remains.
   * Several organizations at once, so the requests meet inside their transactions.
   */
  it.skipIf(Boolean(skip))('two admins making each other members at once leave one admin', async () => {
    const rounds = 8;
    const orgs = await Promise.all(Array.from({ length: rounds }, async (_, round) => {
      const first = await person(`duel-a${round}`);
      const second = await person(`duel-b${round}`);
      const orgId = await organization(first, `Duel ${round}`, [[second, 'admin']]);
      return { orgId, first, second };
    }));
    const answers = await Promise.all(orgs.map(async ({ orgId, first, second }) => {
      const [a, b] = await Promise.all([setRole(first, orgId, second.username, { role: 'member' }), setRole(second, orgId, first.username, { role: 'member' })]);
      return { orgId, answers: [a, b] };
    }));
    for (const { orgId, answers: [a, b] } of answers) {
      const what = `${orgId}: ${a!.status} ${JSON.stringify(a!.body)} ${b!.status} ${JSON.stringify(b!.body)}`;
      expect(await adminsOf(orgId), what).toBe(1);
      // One went; the other was refused: 409 `last_admin`, or 403 when its caller was made a member first.
      expect([a!.status, b!.status].filter((status) => status === 200), what).toHaveLength(1);
      expect([[409, 'last_admin'], [403, 'permission_denied']], what).toContainEqual([[a, b].find((x) => x!.status !== 200)!.status, [a, b].find((x) => x!.status !== 200)!.body.error]);
    }
  });

  /**
   * What was read before the organization's lock may be stale: here another node makes the member
   * admin and then the admin a member (two allowed changes), holding the organization's lock while
   * the member's own leaving, or their account's deletion, waits for it. Read before the lock, the
   * member was no admin, and their going left the organization with a member and no admin. So is a
   * caller's permission: an admin made a member while their change waits no longer holds it.
   */
  // Declared for PostgreSQL only (on SQLite a transaction runs alone: no such race to show).
  if (store === 'PostgreSQL') describe.skipIf(Boolean(skip))('a role changed while a member leaves or deletes their account (PostgreSQL)', () => {
    type Roles = Array<[Person, 'admin' | 'member']>;
    /** Holds `orgId`'s lock and gives the roles `before`, runs `going` until it waits, then gives the roles `after` and commits. */
    const racing = async (orgId: string, before: Roles, going: () => Promise<{ status: number; body?: unknown; text?: string }>, after: Roles) => {
      const userId = async (username: string) => (await db().selectFrom('users').select('id').where('username', '=', username).executeTakeFirstOrThrow()).id;
      const holder = await holdRows(server.databaseUrl, 'update organizations set name = name where id = $1', [orgId]);
      try {
        const give = async (roles: Roles) => {
          for (const [whom, role] of roles) await holder.client.query('update organization_members set role = $1 where org_id = $2 and user_id = $3', [role, orgId, await userId(whom.username)]);
        };
        await give(before);
        const answer = going();
        // Until the request waits for a lock this transaction holds.
        await untilWaiting(db());
        await give(after);
        await holder.release();
        return await answer;
      } finally {
        await holder.release();
      }
    };

    it('their leaving is refused (409 last_admin): they are its admin now', async () => {
      const admin = await person('race-leave-admin');
      const member = await person('race-leave-member');
      const orgId = await organization(admin, 'Race Leave', [[member]]);
      const answer = await racing(orgId, [[member, 'admin']], () => member.json('DELETE', `/api/v1/organizations/${orgId}/members/${member.username}`), [[admin, 'member']]);
      expect(answer.status).toBe(409);
      expect((answer.body as { error: string }).error).toBe('last_admin');
      expect(await rolesOf(orgId)).toEqual({ [admin.username]: 'member', [member.username]: 'admin' });
    });

    it('their account\'s deletion is refused (409 last_admin_of_organization)', async () => {
      const admin = await person('race-del-admin');
      const member = await person('race-del-member');
      const orgId = await organization(admin, 'Race Delete', [[member]]);
      await member.get('/account/delete?lang=en');
      const answer = await racing(orgId, [[member, 'admin']], () => member.post('/account/delete', { password: PASSWORD, lang: 'en' }), [[admin, 'member']]);
      expect(answer.status).toBe(409);
      expect(answer.text).toContain('data-code="last_admin_of_organization"');
      expect(await rolesOf(orgId)).toEqual({ [admin.username]: 'member', [member.username]: 'admin' });
    });

    it('an admin made a member meanwhile may no longer change roles (403 permission_denied)', async () => {
      const first = await person('race-perm-a');
      const second = await person('race-perm-b');
      const third = await person('race-perm-c');
      const orgId = await organization(first, 'Race Permission', [[second, 'admin'], [third, 'admin']]);
      // `second` is made a member while their own change waits: checked before the lock only, it went through.
      const answer = await racing(orgId, [[second, 'member']], () => setRole(second, orgId, third.username, { role: 'member' }), []);
      expect(answer.status).toBe(403);
      expect((answer.body as { error: string }).error).toBe('permission_denied');
      expect(await rolesOf(orgId)).toEqual({ [first.username]: 'admin', [second.username]: 'member', [third.username]: 'admin' });
    });
  });
});

describe('install door: the role routes in the OpenAPI document', () => {
  let t: TestApp;
  let doc: any;
  beforeAll(async () => {
    t = await createTestApp(INSTALL_ENV);
    doc = (await t.app.inject('/docs/json')).json();
  });
  afterAll(() => t.close());

  it('documents the PATCH of a member and its refusals with their codes, and the page\'s form', () => {
    const patch = doc.paths['/api/v1/organizations/{org}/members/{username}'].patch;
    expect(patch.summary).toContain('Change a member\'s role');
    expect(patch.requestBody.content['application/json'].schema.properties.role).toBeDefined();
    expect(patch.responses['200'].description).toContain('with their role now');
    expect(patch.responses['403'].description).toContain('`permission_denied`');
    expect(patch.responses['404'].description).toContain('`member_not_found`');
    expect(patch.responses['409'].description).toContain('`last_admin`');
    expect(patch.responses['400'].description).toContain('`validation_failed`');
    expect(doc.paths['/integrations/orgs/{org}/members/{username}/role'].post.responses['409'].description).toContain('last admin');
  });
});

describe.skipIf(Boolean(skipBrowser))(`install door: the role buttons in Chromium${skipBrowser ? ` (skipped: ${skipBrowser})` : ''}`, () => {
  const password = 'chromium password 1';
  const suite = useBrowserApp(INSTALL_ENV, {
    prepare: async (t) => {
      const admin = new Member(t.url);
      await admin.register('roles-admin', password);
      await new Member(t.url).register('roles-member', password);
      const orgId = await admin.createOrg('Roles Org');
      await admin.addMember(orgId, 'roles-member');
    },
  });

  it('an admin makes a member admin and back; the only admin gets a note in place of "Make member", and one pressed on a stale page is refused in French', async () => {
    const { page, problems } = await suite.newPage();
    await page.goto(`${suite.url}/integrations`);
    await page.getByLabel('Username or e-mail').fill('roles-admin');
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Organizations and chat' }).waitFor();
    const row = (username: string) => page.locator(`ul.members li[data-member="${username}"]`);
    await settledForDecision(page);
    await row('roles-member').getByRole('button', { name: 'Make admin' }).click();
    await page.locator('#done').waitFor();
    expect(await page.locator('#done').textContent()).toBe('The member\'s role was changed.');
    expect(await row('roles-member').textContent()).toContain('(admin)');
    await settledForDecision(page);
    await row('roles-member').getByRole('button', { name: 'Make member' }).click();
    await page.locator('#done').waitFor();
    expect(await row('roles-member').textContent()).toContain('(member)');

    // The only admin again: no "Make member", a note saying why.
    expect(await row('roles-admin').getByRole('button').count()).toBe(0);
    expect(await row('roles-admin').textContent()).toContain('You are its only admin: to become a plain member, first make another member admin.');

    await page.goto(`${suite.url}/integrations?lang=fr`);
    expect(await row('roles-admin').getByRole('button').count()).toBe(0);
    expect(await row('roles-admin').textContent()).toContain('Vous en êtes le seul administrateur');
    // Two admins: the button is there; pressed on a page left open while the other admin was made
    // a member again (in another tab), it is refused, in French, saying why.
    await settledForDecision(page);
    await row('roles-member').getByRole('button', { name: 'Nommer administrateur' }).click();
    await page.locator('#done').waitFor();
    const other = await page.context().newPage();
    await other.goto(`${suite.url}/integrations?lang=fr`);
    await settledForDecision(other);
    await other.locator('ul.members li[data-member="roles-member"]').getByRole('button', { name: 'Rendre simple membre' }).click();
    await other.locator('#done').waitFor();
    await settledForDecision(page);
    await row('roles-admin').getByRole('button', { name: 'Rendre simple membre' }).click();
    expect(await page.getByRole('alert').textContent()).toContain('C’est le dernier administrateur de l’organisation');
    await page.getByRole('link', { name: 'Retour' }).first().click();
    expect(await row('roles-admin').textContent()).toContain('(administrateur)');
    expect(await row('roles-admin').getByRole('button').count()).toBe(0);
    expect(problems).toEqual([]);
  });
});
