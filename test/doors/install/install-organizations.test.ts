import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { INSTALL_ENV, Member } from './install-helpers.js';

describe('install door: organizations and roles (real sockets)', () => {
  let t: TestApp;
  let base: string;
  let admin: Member;
  let bob: Member;
  beforeAll(async () => {
    t = await createTestApp(INSTALL_ENV);
    base = await t.listen();
    admin = await Member.create(base, 'org-admin');
    bob = await Member.create(base, 'org-bob');
  });
  afterAll(() => t.close());

  it('the creator of an organization is its admin; admins invite members by username, who join by accepting', async () => {
    const created = await admin.json('POST', '/api/v1/organizations', { name: '  Acme Ops  ' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Acme Ops', role: 'admin' });
    const orgId = created.body.id as string;
    expect((await admin.addMember(orgId, 'ORG-BOB')).status).toBe(201);
    expect((await admin.addMember(orgId, 'org-bob')).body.error).toBe('already_member');
    // An unknown username is answered as any other: inviting tells nobody which accounts exist.
    expect((await admin.addMember(orgId, 'nobody-here')).status).toBe(202);
    const listed = await bob.json('GET', '/api/v1/organizations');
    expect(listed.body.organizations).toEqual([expect.objectContaining({ id: orgId, name: 'Acme Ops', role: 'member' })]);
    const members = await bob.json('GET', `/api/v1/organizations/${orgId}/members`);
    expect(members.body.members.map((m: any) => `${m.username}:${m.role}`)).toEqual(['org-admin:admin', 'org-bob:member']);
  });

  it('a member cannot add members (403); a stranger sees no organization (404); nobody signed in gets 401', async () => {
    const orgId = await admin.createOrg('Roles Inc');
    await admin.addMember(orgId, 'org-bob');
    const byMember = await bob.addMember(orgId, 'org-admin', 'admin');
    expect(byMember.status).toBe(403);
    expect(byMember.body.error).toBe('permission_denied');
    // Said in words, with whom to ask.
    expect(byMember.body.message).toBe('Your role in this organization (member) does not allow you to invite or remove other members (members:write): ask one of its admins.');
    expect((await bob.setup(orgId)).body.message).toBe('Your role in this organization (member) does not allow you to set up chat installations (integrations:write): ask one of its admins.');
    const stranger = await Member.create(base, 'org-stranger');
    expect((await stranger.json('GET', `/api/v1/organizations/${orgId}/members`)).status).toBe(404);
    expect((await stranger.addMember(orgId, 'org-stranger', 'admin')).status).toBe(404);
    const anonymous = await fetch(`${base}/api/v1/organizations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x' }) });
    expect(anonymous.status).toBe(401);
  });

  it('a cross-site browser request is refused even with the session cookie', async () => {
    const answer = await admin.json('POST', '/api/v1/organizations', { name: 'Evil' }, { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' });
    expect(answer.status).toBe(403);
    expect(answer.body.error).toBe('csrf_failed');
  });

  it('the page\'s forms work as a browser sends them over plain http (Origin: null, no Fetch Metadata), with the CSRF token', async () => {
    // Referrer-Policy: no-referrer makes a browser send `Origin: null` with every form post, and
    // plain http gets no Sec-Fetch-Site: every form of /integrations was refused as from another site.
    const browser = await Member.create(base, 'org-plain-http');
    Object.assign(browser.headers, { origin: 'null' });
    await browser.get('/integrations');
    const created = await browser.post('/integrations/orgs', { name: 'Plain Http Org' });
    expect(created.status).toBe(303);
    expect((await browser.json('GET', '/api/v1/organizations')).body.organizations.map((o: any) => o.name)).toContain('Plain Http Org');
    // The token still decides: without it, refused.
    expect((await browser.post('/integrations/orgs', { name: 'Forged Null', _csrf: 'x'.repeat(43) })).status).toBe(403);
    // And another site saying so is refused even with it.
    Object.assign(browser.headers, { origin: 'https://evil.example' });
    await browser.get('/integrations');
    expect((await browser.post('/integrations/orgs', { name: 'Evil Form' })).status).toBe(403);
  });

  it('bad names and ids are clear 400s, never 5xx', async () => {
    // A name far too long gets the same answer as one a little too long: the rule (1 to 100), not a schema's other bound.
    // A text-direction override showed "Org \u202Eexe.gnp" to members as "Org png.exe".
    for (const name of ['', '   ', 'x'.repeat(101), 'x'.repeat(500), 'tab\tname', 'Org \u202Eexe.gnp', 'next\u0085line']) {
      const answer = await admin.json('POST', '/api/v1/organizations', { name });
      expect(answer.status, name).toBe(400);
      expect(answer.body.error).toBe('invalid_org_name');
      expect(answer.body.message).toBe('The organization name must have 1 to 100 characters, without control or text-direction characters (such as U+0000 or U+202E).');
    }
    for (const body of ['{', '[]', '{"name": {}}', '{"nom": "x"}']) {
      expect((await admin.json('POST', '/api/v1/organizations', body)).status).toBe(400);
    }
    expect((await admin.json('GET', '/api/v1/organizations/..%2F..%2Fetc/members')).status).toBe(400);
    expect((await admin.json('POST', '/api/v1/organizations/AAAAAAAAAAAAAAAAAAAAAA/members', { username: 'org-bob', role: 'owner' })).status).toBe(400);
  });

  it('the page: create an organization, invite a member and accept the invitation through forms with the CSRF token', async () => {
    const page = await admin.get('/integrations');
    expect(page.status).toBe(200);
    const created = await admin.post('/integrations/orgs', { name: 'Form Org' });
    expect(created.status).toBe(303);
    const after = await admin.get(created.location!);
    expect(after.text).toContain('Form Org');
    const orgId = /data-org="([^"]+)"[^>]*>\s*<h2[^>]*>Form Org</.exec(after.text)?.[1] ?? (await admin.json('GET', '/api/v1/organizations')).body.organizations.find((o: any) => o.name === 'Form Org').id;
    const added = await admin.post(`/integrations/orgs/${orgId}/members`, { username: 'org-bob', role: 'member' });
    expect(added.status).toBe(303);
    expect(added.location).toBe('/integrations?done=invited');
    // Invited, not a member: bob's page offers the invitation, and only his acceptance makes him one.
    expect((await bob.json('GET', '/api/v1/organizations')).body.organizations.map((o: any) => o.name)).not.toContain('Form Org');
    const offered = await bob.get('/integrations');
    const accept = /action="(\/integrations\/invitations\/[^"/]+\/accept)"/.exec(offered.text)![1]!;
    expect(offered.text).toContain('<strong>Form Org</strong> invites you to join as member (invited by org-admin).');
    expect((await bob.post(accept, {})).location).toBe('/integrations?done=joined');
    expect((await bob.json('GET', '/api/v1/organizations')).body.organizations.map((o: any) => o.name)).toContain('Form Org');
    // Without the CSRF token the form is refused.
    const forged = await admin.post('/integrations/orgs', { name: 'Forged', _csrf: 'x'.repeat(43) });
    expect(forged.status).toBe(403);
    expect((await admin.json('GET', '/api/v1/organizations')).body.organizations.map((o: any) => o.name)).not.toContain('Forged');
    // Signed out: the page sends to the sign-in page, which comes back here.
    const anonymous = await fetch(`${base}/integrations`, { redirect: 'manual' });
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get('location')).toBe('/account/signin?next=%2Fintegrations');
    // In French, the sign-in page and the way back stay French.
    const french = await fetch(`${base}/integrations?lang=fr`, { redirect: 'manual' });
    expect(french.headers.get('location')).toBe(`/account/signin?next=${encodeURIComponent('/integrations?lang=fr')}&lang=fr`);
    const frenchForm = await fetch(`${base}/integrations/orgs?lang=fr`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=x' });
    expect(frenchForm.headers.get('location')).toBe(`/account/signin?next=${encodeURIComponent('/integrations?lang=fr')}&lang=fr`);
  });

  it('the page: a refused field shows the same page again, the error next to the field (aria-invalid, aria-describedby) and what was typed kept', async () => {
    const orgId = await admin.createOrg('Again Org');
    const section = (html: string) => html.slice(html.indexOf(`data-org="${orgId}"`), html.indexOf('</section>', html.indexOf(`data-org="${orgId}"`)));
    // A username no account could have (an unknown one that could is invited like any other).
    const unknown = await admin.post(`/integrations/orgs/${orgId}/members`, { username: 'nobody typed', role: 'admin' });
    expect(unknown.status).toBe(400);
    expect(unknown.text).toContain('<h1>Organizations and chat</h1>');
    expect(unknown.text).not.toContain('id="done"');
    const form = section(unknown.text);
    const input = /<input type="text" id="(member-\d+)" name="username"[^>]*>/.exec(form);
    expect(input?.[0]).toContain('value="nobody typed"');
    expect(input?.[0]).toContain('aria-invalid="true"');
    expect(input?.[0]).toContain(`aria-describedby="${input![1]}-error"`);
    expect(input?.[0]).toContain('autofocus');
    expect(form).toContain(`<p id="${input![1]}-error" class="error" role="alert">No account can have this username: 5 to 60 lower-case letters, digits and hyphens, starting and ending with a letter or digit.</p>`);
    expect(form).toMatch(/<option value="admin" selected>admin<\/option><option value="member">member<\/option>/);
    // Only that form is marked: the other organizations' forms and the create form are as usual.
    expect(unknown.text.match(/aria-invalid/g)).toHaveLength(1);

    await admin.addMember(orgId, 'org-bob');
    const twice = await admin.post(`/integrations/orgs/${orgId}/members`, { username: 'org-bob' });
    expect(twice.status).toBe(409);
    expect(section(twice.text)).toContain('role="alert">This account is already a member.</p>');
    expect(section(twice.text)).toMatch(/<option value="admin">admin<\/option><option value="member" selected>member<\/option>/);

    const blank = await admin.post('/integrations/orgs', { name: '   ' });
    expect(blank.status).toBe(400);
    expect(blank.text).toMatch(/<input type="text" id="org-name" name="name" value=" {3}" maxlength="100" required autofocus aria-invalid="true" aria-describedby="org-name-error">/);
    expect(blank.text).toContain('<p id="org-name-error" class="error" role="alert">The organization name must have 1 to 100 characters, without control or text-direction characters.</p>');

    // In French, the error and the role labels too (the values stay).
    const french = await admin.post(`/integrations/orgs/${orgId}/members`, { username: 'per', role: 'member', lang: 'fr' });
    expect(french.status).toBe(400);
    expect(section(french.text)).toContain('role="alert">Aucun compte ne peut avoir ce nom d’utilisateur\u00a0: 5 à 60 lettres minuscules, chiffres et traits d’union, commençant et finissant par une lettre ou un chiffre.</p>');
    expect(section(french.text)).toMatch(/<option value="admin">administrateur<\/option><option value="member" selected>membre<\/option>/);
    // Errors that are not a field's still get their page: a member may not add anyone.
    const byMember = await bob.post(`/integrations/orgs/${orgId}/members`, { username: 'org-admin' });
    expect(byMember.status).toBe(403);
    expect(byMember.text).not.toContain('aria-invalid');
  });

  it('the page speaks French with ?lang=fr', async () => {
    const page = await admin.get('/integrations?lang=fr');
    expect(page.text).toContain('<html lang="fr">');
    expect(page.text).toContain('Organisations et messagerie');
    expect(page.text).toContain('Configurer Mattermost');
    expect(page.text).toContain('Votre rôle\u00a0: administrateur');
    expect(page.text).toMatch(/<option value="admin">administrateur<\/option><option value="member" selected>membre<\/option>/);
    expect(page.text).not.toMatch(/>(admin|member)<\/option>/);
  });

  it('deleting an account removes its memberships', async () => {
    const carol = await Member.create(base, 'org-carol');
    const orgId = await carol.createOrg('Carol Co');
    await carol.addMember(orgId, 'org-bob');
    const user = await t.app.pairgate.stores.db.selectFrom('users').select('id').where('username', '=', 'org-carol').executeTakeFirstOrThrow();
    await t.app.pairgate.stores.db.deleteFrom('users').where('id', '=', user.id).execute();
    const rows = await t.app.pairgate.stores.db.selectFrom('organization_members').selectAll().where('org_id', '=', orgId).execute();
    expect(rows.map((row) => row.role)).toEqual(['member']);
  });
});
