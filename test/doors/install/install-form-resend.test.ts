import { describe, expect, it } from 'vitest';
import { FakeMattermost, installationIdOf, installConnector, mattermostId, useOrgOfTwo } from './install-helpers.js';

/** The form nonce the integrations page put in its forms (one per rendering). */
function nonceOf(page: string): string {
  const nonce = /name="form_nonce" value="([^"]+)"/.exec(page)?.[1];
  if (!nonce) throw new Error(`no form_nonce on the page: ${page.slice(0, 300)}`);
  return nonce;
}

/** The text of a code block of the page, by id. */
function codeOf(page: string, id: string): string | undefined {
  return new RegExp(`<code id="${id}">([^<]*)</code>`).exec(page)?.[1];
}

describe('install door: a form sent again (the browser re-sending it on reload) replaces nothing', () => {
  const org = useOrgOfTwo('resend', 'Resend Org');

  it('the setup form sent twice: the second sending keeps the first setup, whose secret installs, and says how to get a new one', async () => {
    const nonce = nonceOf((await org.admin.get('/integrations')).text);
    const path = `/integrations/orgs/${org.orgId}/mattermost/setup`;
    const first = await org.admin.post(path, { form_nonce: nonce });
    expect(first.status).toBe(200);
    const secret = codeOf(first.text, 'setup-jwt_secret')!;
    const manifest = codeOf(first.text, 'setup-manifest_link')!;
    expect(secret).toMatch(/^[\w-]{43}$/);

    // The reload re-posts the very same body (same CSRF token, same nonce).
    const again = await org.admin.post(path, { form_nonce: nonce });
    expect(again.status).toBe(409);
    expect(again.headers.get('cache-control')).toBe('no-store');
    expect(again.text).toContain('This setup was already made, when this form was first sent');
    expect(again.text).toContain('Its secret was shown once, on that page, and is not shown again.');
    expect(again.text).toContain('press &quot;Set up Mattermost&quot; again');
    expect(again.text).not.toContain('setup-jwt_secret');
    // In French too.
    const french = await org.admin.post(path, { form_nonce: nonce, lang: 'fr' });
    expect(french.status).toBe(409);
    expect(french.text).toContain('Cette configuration a déjà été faite');
    expect(french.text).toMatch(/appuyez de nouveau sur «\s?Configurer Mattermost\s?»/);

    // The secret the admin copied from the first answer still works: Mattermost installs with it.
    const installed = await new FakeMattermost(org.base, org.clock).install(installationIdOf(manifest), secret, { id: mattermostId('resendadmin'), username: 'admin' });
    expect(installed.status).toBe(200);

    // A fresh page (the button pressed again) makes a new setup, as it always did.
    const fresh = await org.admin.post(path, { form_nonce: nonceOf((await org.admin.get('/integrations')).text) });
    expect(fresh.status).toBe(200);
    expect(codeOf(fresh.text, 'setup-jwt_secret')).not.toBe(secret);
  });

  it('ten sendings of one setup form at once make exactly one setup', async () => {
    const nonce = nonceOf((await org.admin.get('/integrations')).text);
    const answers = await Promise.all(Array.from({ length: 10 }, () => org.admin.post(`/integrations/orgs/${org.orgId}/webhook/setup`, { form_nonce: nonce })));
    expect(answers.map((a) => a.status).sort()).toEqual([200, ...Array<number>(9).fill(409)]);
  });

  it('the link token form sent twice makes one token; the first still links', async () => {
    const inst = await installConnector(org.base, org.admin, org.orgId, 'mattermost', org.clock);
    const nonce = nonceOf((await org.member.get('/integrations')).text);
    const path = `/integrations/orgs/${org.orgId}/mattermost/link-token`;
    const first = await org.member.post(path, { form_nonce: nonce });
    expect(first.status).toBe(200);
    const token = codeOf(first.text, 'link-token')!;
    const again = await org.member.post(path, { form_nonce: nonce });
    expect(again.status).toBe(409);
    expect(again.text).toContain('This link token was already made, when this form was first sent');
    expect(again.text).toContain('press &quot;Create a Mattermost link token&quot; again');
    expect(again.text).not.toContain('id="link-token"');
    const french = await org.member.post(path, { form_nonce: nonce, lang: 'fr' });
    expect(french.text).toContain('Ce jeton de liaison a déjà été créé');

    const linked = await new FakeMattermost(org.base, org.clock).call(inst.id, 'link', inst.secret, { id: mattermostId('resendmember'), username: 'member' }, { values: { token } });
    expect(linked.status).toBe(200);
  });

  it('a refused sending made nothing: the same form sent again tries again', async () => {
    // The member may not set up: refused (403). Sent again, it is refused again, not "already made".
    const nonce = nonceOf((await org.member.get('/integrations')).text);
    const path = `/integrations/orgs/${org.orgId}/mattermost/setup`;
    expect((await org.member.post(path, { form_nonce: nonce })).status).toBe(403);
    const again = await org.member.post(path, { form_nonce: nonce });
    expect(again.status).toBe(403);
    expect(again.text).not.toContain('already made');
  });

  it('a form older than a day, or a nonce not of this server, makes nothing and says to press again', async () => {
    const nonce = nonceOf((await org.admin.get('/integrations')).text);
    const before = codeOf((await org.admin.post(`/integrations/orgs/${org.orgId}/webhook/setup`, { form_nonce: nonceOf((await org.admin.get('/integrations')).text) })).text, 'setup-signing_secret');
    expect(before).toBeDefined();
    org.clock.advance(24 * 3600_000 + 1000);
    await org.admin.get('/integrations');
    const old = await org.admin.post(`/integrations/orgs/${org.orgId}/webhook/setup`, { form_nonce: nonce });
    expect(old.status).toBe(400);
    expect(old.text).toContain('This form was shown more than a day ago and is no longer taken: nothing was made.');
    const forged = await org.admin.post(`/integrations/orgs/${org.orgId}/webhook/setup`, { form_nonce: 'not-a-nonce' });
    expect(forged.status).toBe(400);
  });
});
