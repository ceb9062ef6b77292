import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { labelOf } from '../../../src/doors/install/install-pages.js';
import { lifetimeText } from '../../../src/doors/install/lifetime.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { FakeMattermost, INSTALL_ENV, installationIdOf, Member, mattermostId, type MattermostUser } from './install-helpers.js';

describe('install door: what people read says the truth', () => {
  it('a token lifetime in words: whole minutes, else seconds, never "1 minutes"', () => {
    expect(lifetimeText(300)).toBe('5 minutes');
    expect(lifetimeText(60)).toBe('1 minute');
    expect(lifetimeText(30)).toBe('30 seconds');
    expect(lifetimeText(90)).toBe('90 seconds');
    expect(lifetimeText(3600)).toBe('60 minutes');
    expect(lifetimeText(630)).toBe('10 minutes');
    expect(lifetimeText(30, 'fr')).toBe('30 secondes');
    expect(lifetimeText(60, 'fr')).toBe('1 minute');
  });

  it('setup fields are labelled with their acronyms in capitals', () => {
    expect(labelOf('jwt_secret')).toBe('JWT secret');
    expect(labelOf('manifest_link')).toBe('Manifest link');
    expect(labelOf('install_url')).toBe('Install URL');
    expect(labelOf('signing_secret')).toBe('Signing secret');
  });

  describe('with link tokens living 30 seconds', () => {
    let t: TestApp;
    let base: string;
    let clock: ManualClock;
    let admin: Member;
    let orgId: string;
    let mm: FakeMattermost;
    let inst: { id: string; secret: string };
    const mmUser: MattermostUser = { id: mattermostId('wordinguser'), username: 'wording' };

    beforeAll(async () => {
      clock = new ManualClock(Date.now());
      t = await createTestApp({ ...INSTALL_ENV, PAIRGATE_INSTALL_LINK_TOKEN_TTL_SECONDS: '30' }, { clock });
      base = await t.listen();
      mm = new FakeMattermost(base, clock);
      admin = await Member.create(base, 'wording-admin');
      orgId = await admin.createOrg('Wording');
      const answer = await admin.setup(orgId);
      inst = { id: installationIdOf(answer.body.manifest_link), secret: answer.body.jwt_secret as string };
      expect((await mm.install(inst.id, inst.secret, mmUser)).status).toBe(200);
    });
    afterAll(() => t.close());

    it('the link token page says 30 seconds, in English and in French', async () => {
      await admin.get('/integrations');
      const page = await admin.post(`/integrations/orgs/${orgId}/mattermost/link-token`, {});
      expect(page.status).toBe(200);
      expect(page.text).toContain('run this command within 30 seconds.');
      // Each value is named: the organization, the command, and the token alone.
      expect(page.text).toMatch(/<dt>Organization<\/dt>\s*<dd id="link-org">Wording<\/dd>/);
      expect(page.text).toMatch(/<dt>Command to run in your chat \(Mattermost\)<\/dt>\s*<dd><code id="link-command">\/pairgate link /);
      expect(page.text).toMatch(/<dt>The token alone<\/dt>\s*<dd><code id="link-token">/);
      await admin.get('/integrations?lang=fr');
      const french = await admin.post(`/integrations/orgs/${orgId}/mattermost/link-token`, { lang: 'fr' });
      expect(french.text).toContain('dans un délai de 30 secondes.');
      expect(french.text).toContain('<dt>Commande à lancer dans votre messagerie (Mattermost)</dt>');
      // Opening a page with ?lang=fr is remembered, as the switch is: back to English for the tests below.
      await admin.get('/integrations?lang=en');
    });

    it('?done= says what was done for its own values only: an object member\'s name (__proto__, constructor) says nothing, never a 500', async () => {
      expect((await admin.get('/integrations?done=created')).text).toContain('The organization was created.');
      for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'unknown']) {
        const page = await admin.get(`/integrations?done=${name}`);
        expect(page.status, name).toBe(200);
        expect(page.text, name).not.toContain('The organization was created.');
      }
    });

    it('the setup page labels the secret "JWT secret"', async () => {
      await admin.get('/integrations');
      const page = await admin.post(`/integrations/orgs/${orgId}/mattermost/setup`, {});
      expect(page.status).toBe(200);
      expect(page.text).toContain('<dt>JWT secret</dt>');
      // No PAIRGATE_PUBLIC_URL: the links name the listening address, 127.0.0.1, and the page says so.
      expect(page.text).toMatch(/These links name http:\/\/127\.0\.0\.1:\d+, which only this machine reaches: your chat \(Mattermost\) on another machine cannot reach them\. Set PAIRGATE_PUBLIC_URL to the address other machines reach pairgate at/);
      // A webhook's sender posts to the links rather than fetching them, and is no "Signed webhook server".
      const webhook = await admin.post(`/integrations/orgs/${orgId}/webhook/setup`, {});
      expect(webhook.text).toMatch(/which only this machine reaches: your chat \(signed webhook\) on another machine cannot reach them\./);
      // The setup replaced the installation: set it up again for the chat commands below.
      const answer = await admin.setup(orgId);
      inst = { id: installationIdOf(answer.body.manifest_link), secret: answer.body.jwt_secret as string };
      expect((await mm.install(inst.id, inst.secret, mmUser)).status).toBe(200);
    });

    it('an expired token, and /pairgate help, say 30 seconds', async () => {
      const { body } = await admin.linkToken(orgId);
      clock.advance(31_000);
      const late = await mm.call(inst.id, 'link', inst.secret, mmUser, { values: { token: body.token } });
      expect(late.status).toBe(404);
      expect(late.body.text).toContain('(a token works once, for 30 seconds, in the organization and chat it was made for)');
      const help = await mm.call(inst.id, 'help', inst.secret, mmUser);
      expect(help.body.text).toContain('it works once, for 30 seconds)');
    });
  });

  it('each setup page says what to do with its own values: a command in Mattermost, URLs for a webhook (EN and FR)', async () => {
    const t = await createTestApp({ ...INSTALL_ENV, PAIRGATE_PUBLIC_URL: 'https://pair.example' });
    try {
      const admin = await Member.create(await t.listen(), 'steps-admin');
      const orgId = await admin.createOrg('Steps');
      await admin.get('/integrations');
      const mattermost = await admin.post(`/integrations/orgs/${orgId}/mattermost/setup`, {});
      expect(mattermost.text).toContain('Copy the secret now: it is shown only once. Then, in Mattermost, run the install command as a system admin and paste the JWT secret when asked.');
      const webhook = await admin.post(`/integrations/orgs/${orgId}/webhook/setup`, {});
      expect(webhook.status).toBe(200);
      // A webhook has no install command, no system admin and never asks for the secret.
      expect(webhook.text).not.toContain('install command');
      expect(webhook.text).toContain('Copy the secret now: it is shown only once. Then give the URLs and the signing secret to your chat or bot: it sends one signed POST to the install URL to link it');
      await admin.get('/integrations?lang=fr');
      const french = await admin.post(`/integrations/orgs/${orgId}/webhook/setup`, { lang: 'fr' });
      // French with its no-break space before the colon.
      expect(french.text).toContain('Copiez le secret maintenant\u00a0: il n');
      expect(french.text).toContain('une fois. Puis donnez les URL et le secret de signature à votre messagerie ou à votre bot\u00a0: il envoie');
    } finally {
      await t.close();
    }
  });

  it('with PAIRGATE_PUBLIC_URL naming another machine, the setup page has no such warning', async () => {
    const t = await createTestApp({ ...INSTALL_ENV, PAIRGATE_PUBLIC_URL: 'https://pair.example' });
    try {
      const admin = await Member.create(await t.listen(), 'public-admin');
      const orgId = await admin.createOrg('Public');
      await admin.get('/integrations');
      const page = await admin.post(`/integrations/orgs/${orgId}/mattermost/setup`, {});
      expect(page.status).toBe(200);
      expect(page.text).toContain('https://pair.example/mattermost/');
      expect(page.text).not.toContain('setup-unreachable');
    } finally {
      await t.close();
    }
  });
});
