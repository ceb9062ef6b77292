import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { FakeMattermost, INSTALL_ENV, installationIdOf, Member, mattermostId } from './install-helpers.js';

/**
 * The link token form of the integrations page, refused: the page is in the person's language, and
 * so is what it says went wrong (the errors' own messages are English, for the API and the chat).
 */
describe('install door: a refused link token form speaks the page\'s language', () => {
  let t: TestApp;
  let clock: ManualClock;
  let admin: Member;
  let mm: FakeMattermost;

  beforeAll(async () => {
    clock = new ManualClock(Date.now());
    t = await createTestApp({ ...INSTALL_ENV, PAIRGATE_INSTALL_MAX_LIVE_LINK_TOKENS_PER_USER: '1' }, { clock });
    const base = await t.listen();
    mm = new FakeMattermost(base, clock);
    admin = await Member.create(base, 'refusal-admin');
  });
  afterAll(() => t.close());

  /** Posts the link token form as a browser whose Accept-Language is `language` (no `lang` in the form). */
  const makeToken = async (orgId: string, language: string) => {
    await admin.get('/integrations');
    const cookie = [...admin.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const answer = await t.app.inject({
      method: 'POST',
      url: `/integrations/orgs/${orgId}/mattermost/link-token`,
      headers: { cookie, 'accept-language': language, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ _csrf: admin.lastCsrf }).toString(),
    });
    return { status: answer.statusCode, text: answer.body };
  };

  it('nothing installed: 404, in French for a French browser, in English for an English one', async () => {
    const orgId = await admin.createOrg('Rien installé');
    const french = await makeToken(orgId, 'fr-FR,fr;q=0.9,en;q=0.5');
    expect(french.status).toBe(404);
    expect(french.text).toContain('<html lang="fr">');
    expect(french.text).toContain('pairgate n’est pas installé dans votre messagerie (Mattermost) pour l’organisation Rien installé');
    expect(french.text).not.toContain('pairgate is not installed');
    // Its way back is bare: the integrations page speaks the browser's French by itself.
    expect(french.text).toContain('<a class="button secondary" href="/integrations">');
    const english = await makeToken(orgId, 'en');
    expect(english.status).toBe(404);
    expect(english.text).toContain('pairgate is not installed in your chat (Mattermost) for the organization Rien installé, so a link token would link nothing.');
  });

  it('set up but not installed yet: 409, in French', async () => {
    const orgId = await admin.createOrg('En attente');
    expect((await admin.setup(orgId)).status).toBe(201);
    const french = await makeToken(orgId, 'fr');
    expect(french.status).toBe(409);
    expect(french.text).toContain('pairgate est configuré pour votre messagerie (Mattermost) dans l’organisation En attente mais n’y est pas encore installé');
    expect(french.text).not.toContain('but not installed yet');
  });

  it('the account holds its share of live tokens: 429, in French, with the wait in French words', async () => {
    const orgId = await admin.createOrg('Plein');
    const answer = await admin.setup(orgId);
    const inst = { id: installationIdOf(answer.body.manifest_link), secret: answer.body.jwt_secret as string };
    expect((await mm.install(inst.id, inst.secret, { id: mattermostId('refusaladmin'), username: 'sysadmin' })).status).toBe(200);
    expect((await makeToken(orgId, 'fr')).status).toBe(200);
    const french = await makeToken(orgId, 'fr');
    expect(french.status).toBe(429);
    expect(french.text).toMatch(/Ce compte a déjà autant de jetons de liaison en cours qu’il peut en avoir \(1\)\. Utilisez-en un, ou réessayez dans (5 minutes|\d+ secondes)\./);
    expect(french.text).not.toContain('live link tokens');
  });
});
