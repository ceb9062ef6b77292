import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/core/clock.js';
import { escapeMarkdown } from '../../../src/doors/install/mattermost/markdown.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { FakeMattermost, INSTALL_ENV, installationIdOf, installConnector, Member, mattermostId, webhookCall } from './install-helpers.js';

/** An organization name that is markdown: a link, an image every reader's client would fetch, bold, a mention, an address. */
const MARKDOWN_NAME = '[Sign in](https://e.example) ![x](https://e.example/p.png) **now** @all www.e.example';
/** The same, as Mattermost must be sent it to show it as written. */
const ESCAPED_NAME = '\\[Sign in\\]\\(https\\:\\/\\/e\\.example\\) \\!\\[x\\]\\(https\\:\\/\\/e\\.example\\/p\\.png\\) \\*\\*now\\*\\* \\@all www\\.e\\.example';

/**
 * Names the chat did not write, shown in the chat, and names the chat wrote, shown on pairgate's
 * pages. Mattermost renders a call response's text as markdown: an organization named like a link
 * or an image made pairgate's answer a link or fetched a picture, so names put in its answers are
 * escaped (`mattermost/markdown.ts`); the webhook's text is plain and keeps them as they are. A
 * chat user's name (the webhook's `user_name`) is shown on the member's page: its control and
 * text-direction characters are taken out (`shared/shown-text.ts`), since a U+202E turned the
 * page's line around.
 */
describe('install door: names in chat answers and chat names on pages (real sockets)', () => {
  let t: TestApp;
  let base: string;
  let admin: Member;

  beforeAll(async () => {
    t = await createTestApp({ ...INSTALL_ENV, PAIRGATE_PUBLIC_URL: 'https://pair.example' }, {});
    base = await t.listen();
    admin = await Member.create(base, 'names-admin');
  });
  afterAll(() => t.close());

  it('escapeMarkdown escapes every ASCII punctuation character but the hyphen, and nothing else', () => {
    expect(escapeMarkdown('names-admin')).toBe('names-admin');
    expect(escapeMarkdown('Ça va, l’équipe')).toBe('Ça va\\, l’équipe');
    expect(escapeMarkdown('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~')).toBe('\\!\\"\\#\\$\\%\\&\\\'\\(\\)\\*\\+\\,-\\.\\/\\:\\;\\<\\=\\>\\?\\@\\[\\\\\\]\\^\\_\\`\\{\\|\\}\\~');
  });

  it('Mattermost: the organization\'s name is escaped in the install and uninstall answers', async () => {
    const orgId = await admin.createOrg(MARKDOWN_NAME);
    const setup = await admin.setup(orgId);
    expect(setup.status).toBe(201);
    const id = installationIdOf(setup.body.manifest_link as string);
    const secret = setup.body.jwt_secret as string;
    const mm = new FakeMattermost(base, systemClock);
    const chatAdmin = { id: mattermostId('namesmmadmin'), username: 'sysadmin' };
    const installed = await mm.install(id, secret, chatAdmin);
    expect(installed.body).toEqual({ type: 'ok', text: `Installed and linked with organization ${ESCAPED_NAME}` });
    const uninstalled = await mm.call(id, 'uninstall', secret, chatAdmin);
    expect(uninstalled.body).toEqual({ type: 'ok', text: `Uninstalled: pairgate no longer answers here for organization ${ESCAPED_NAME}. To use it again, an admin sets it up again at https://pair.example/integrations and installs the new setup.` });
  });

  it('the webhook\'s plain text keeps the name as written', async () => {
    const orgId = await admin.createOrg(`${MARKDOWN_NAME} (webhook)`);
    const setup = await admin.setup(orgId, 'webhook');
    const installed = await webhookCall(base, setup.body.install_url as string, setup.body.signing_secret as string, { site_url: 'https://bot.example.test' }, systemClock);
    expect(installed.body).toEqual({ ok: true, text: `Installed and linked with organization ${MARKDOWN_NAME} (webhook)` });
  });

  it('webhook: a user_name\'s control and text-direction characters never reach the member\'s page; one with nothing else shows the user id', async () => {
    const orgId = await admin.createOrg('Named Chat');
    const installation = await installConnector(base, admin, orgId, 'webhook');
    const commandUrl = `https://pair.example/webhook/${installation.id}/command`;
    const link = async (userId: string, userName: string) => {
      const token = (await admin.linkToken(orgId, 'webhook')).body.token as string;
      const linked = await webhookCall(base, commandUrl, installation.secret, { user_id: userId, user_name: userName, text: `link ${token}` }, systemClock);
      expect(linked.status).toBe(200);
    };
    await link('U-rlo', 'eve\u202Egnp.exe\u0000\n\u2066x\u2069\u200F');
    const rows = () => t.app.pairgate.stores.db.selectFrom('chat_links').select(['external_user_id', 'external_username']).where('org_id', '=', orgId).execute();
    expect(await rows()).toEqual([{ external_user_id: 'U-rlo', external_username: 'evegnp.exex' }]);
    const page = (await admin.get('/integrations?lang=en')).text;
    expect(page).toContain('your chat account evegnp.exex is linked');
    expect(page).not.toMatch(/[\u202A-\u202E\u2066-\u2069\u200E\u200F]/u);
    expect(page).not.toContain(String.fromCharCode(0));

    // Nothing showable left: no name, and the page names the chat user by their id.
    await link('U-blank', '\u202E\u202C');
    expect((await rows()).find((row) => row.external_user_id === 'U-blank')).toEqual({ external_user_id: 'U-blank', external_username: null });
    expect((await admin.get('/integrations?lang=en')).text).toContain('your chat account U-blank is linked');

    // A link stored before names were cleaned at linking still holds them: the page cleans at display too.
    await t.app.pairgate.stores.db.updateTable('chat_links').set({ external_username: 'old\u202Egnp.exe\u0007' }).where('org_id', '=', orgId).where('external_user_id', '=', 'U-rlo').execute();
    await t.app.pairgate.stores.db.updateTable('chat_links').set({ external_user_id: 'U-\u202Eold' }).where('org_id', '=', orgId).where('external_user_id', '=', 'U-blank').execute();
    const cleaned = (await admin.get('/integrations?lang=en')).text;
    expect(cleaned).toContain('your chat account oldgnp.exe is linked');
    expect(cleaned).toContain('your chat account U-old is linked');
    expect(cleaned).not.toMatch(/[\u202A-\u202E\u2066-\u2069\u200E\u200F]/u);
    expect(cleaned).not.toContain(String.fromCharCode(7));
  });
});
