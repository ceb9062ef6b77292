import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { FakeMattermost, INSTALL_ENV, installationIdOf, Member, mattermostId, type MattermostUser } from './install-helpers.js';

describe('install door: the integrations page tells a member where they can link, and what they linked (real sockets)', () => {
  let t: TestApp;
  let base: string;
  let clock: ManualClock;
  let admin: Member;
  let member: Member;
  let orgId: string;
  let mm: FakeMattermost;
  const chatUser: MattermostUser = { id: mattermostId('pagelinkuser'), username: 'ada.chat' };

  beforeAll(async () => {
    clock = new ManualClock(Date.parse('2026-12-02T07:24:30Z'));
    t = await createTestApp({ ...INSTALL_ENV }, { clock });
    base = await t.listen();
    mm = new FakeMattermost(base, clock);
    admin = await Member.create(base, 'page-admin');
    member = await Member.create(base, 'page-member');
    orgId = await admin.createOrg('Page Org');
    await admin.addMember(orgId, 'page-member');
  });
  afterAll(() => t.close());

  /** The page's section of the organization. */
  const section = async (who: Member, lang = 'en') => {
    const page = await who.get(`/integrations?lang=${lang}`);
    expect(page.status).toBe(200);
    const start = page.text.indexOf(`data-org="${orgId}"`);
    return page.text.slice(start, page.text.indexOf('</section>', start));
  };

  it('before any install, no link token is offered: the member is told to ask an admin, the admin what to do', async () => {
    const forMember = await section(member);
    expect(forMember).not.toContain('link-token');
    expect(forMember).toContain('No chat is installed in this organization yet. Ask an admin of the organization to install pairgate in your chat; then you can link your chat account here.');
    const forAdmin = await section(admin);
    expect(forAdmin).not.toContain('link-token');
    expect(forAdmin).toContain('No chat is installed in this organization yet: set one up above, then install it as said below; members can then link their chat accounts here.');
    // How each connector installs, in its own words: a webhook has no install command to run.
    expect(forAdmin).toContain('<li>Mattermost: run the install command the setup shows in Mattermost, as a system admin, and paste the JWT secret when asked.</li>');
    expect(forAdmin).toContain('<li>Signed webhook: your chat or bot sends one POST to the install URL the setup shows, signed with its signing secret.</li>');
    expect(forAdmin).not.toContain('install command in the chat');
    expect(forMember).not.toContain('install-steps');
    expect(await section(member, 'fr')).toContain('Aucune messagerie n’est encore installée dans cette organisation.');
    const forAdminFr = await section(admin, 'fr');
    expect(forAdminFr).toContain('Aucune messagerie n’est encore installée dans cette organisation\u00a0: configurez-en une ci-dessus, puis installez-la comme indiqué ci-dessous\u00a0; les membres pourront ensuite lier leur compte de messagerie ici.');
    expect(forAdminFr).toContain('<li>Mattermost\u00a0: lancez dans Mattermost la commande d’installation que montre la configuration, en administrateur système, et collez le secret JWT quand il est demandé.</li>');
    expect(forAdminFr).toContain('<li>Webhook signé\u00a0: votre messagerie ou votre bot envoie un POST à l’URL d’installation que montre la configuration, signé avec son secret de signature.</li>');
    expect(forAdminFr).not.toContain('commande d’installation dans la messagerie');
    // A setup not installed yet offers nothing either.
    const setup = await admin.setup(orgId);
    expect(await section(member)).not.toContain('link-token');
    expect((await mm.install(installationIdOf(setup.body.manifest_link), setup.body.jwt_secret, chatUser)).status).toBe(200);
  });

  it('once Mattermost is installed, its link token is offered, and only its own', async () => {
    const forMember = await section(member);
    expect(forMember).toContain(`action="/integrations/orgs/${orgId}/mattermost/link-token"`);
    expect(forMember).toContain('Create a Mattermost link token');
    expect(forMember).not.toContain(`/webhook/link-token`);
    expect(forMember).not.toContain('No chat is installed');
  });

  it('after /pairgate link, the page says which chat account is linked and since when; after unlink, no more', async () => {
    const setup = await admin.setup(orgId);
    const inst = { id: installationIdOf(setup.body.manifest_link), secret: setup.body.jwt_secret as string };
    expect((await mm.install(inst.id, inst.secret, chatUser)).status).toBe(200);
    expect(await section(member)).not.toContain('is linked');
    const token = (await member.linkToken(orgId)).body.token as string;
    expect((await mm.call(inst.id, 'link', inst.secret, chatUser, { values: { token } })).status).toBe(200);
    // The time set apart, kept whole on one line (time.date, pairgate.css).
    expect(await section(member)).toMatch(/<li>Mattermost: your chat account ada\.chat is linked, since <time class="date" datetime="2026-12-02T07:24:[\d.]+Z">2026-12-02 07:24 UTC<\/time><\/li>/);
    expect(await section(member, 'fr')).toMatch(/<li>Mattermost\u00a0: votre compte de messagerie ada\.chat est lié, depuis le <time class="date" datetime="2026-12-02T07:24:[\d.]+Z">2026-12-02 07:24 UTC<\/time><\/li>/);
    // The admin's own list says nothing of the member's link.
    expect(await section(admin)).not.toContain('is linked');
    clock.advance(1000);
    expect((await mm.call(inst.id, 'unlink', inst.secret, chatUser)).body.data.unlinked).toBe(true);
    expect(await section(member)).not.toContain('is linked');
  });
});
