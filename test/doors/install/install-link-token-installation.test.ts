import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { LINK_TOKEN_KIND } from '../../../src/doors/install/link-tokens.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { FakeMattermost, INSTALL_ENV, installationIdOf, installConnector, Member, mattermostId, type MattermostUser } from './install-helpers.js';

/**
 * A link token is spent by a command in the chat it was made for: where that chat is not (or no
 * longer) installed, it could link nothing, and would still hold a place among the live tokens
 * (the server-wide cap, the account's and the network's shares). It is refused, saying what to do.
 */
describe('install link tokens: only for a chat installed in the organization (real sockets, manual clock)', () => {
  let t: TestApp;
  let base: string;
  let clock: ManualClock;
  let admin: Member;
  let member: Member;
  let orgId: string;
  const mmUser: MattermostUser = { id: mattermostId('tokeninstalluser'), username: 'ada' };

  /** The live link-token grants of the server. */
  const liveTokens = async () => t.app.pairgate.engine.countLive(LINK_TOKEN_KIND);

  beforeAll(async () => {
    clock = new ManualClock(Date.now());
    t = await createTestApp({ ...INSTALL_ENV, PAIRGATE_PUBLIC_URL: 'https://pair.example', PAIRGATE_SESSION_TTL_SECONDS: String(30 * 86400), PAIRGATE_INSTALL_MAX_LIVE_LINK_TOKENS_PER_USER: '2' }, { clock });
    base = await t.listen();
    admin = await Member.create(base, 'tokinst-admin');
    member = await Member.create(base, 'tokinst-member');
    orgId = await admin.createOrg('Acme');
    expect((await admin.addMember(orgId, 'tokinst-member')).status).toBe(201);
  });
  afterAll(() => t.close());

  // The chat as the English page names it mid-sentence ("your chat (signed webhook)"), never the
  // display name ("not installed in Signed webhook"); how to install is left to the setup, since a
  // webhook has no install command.
  const chats = [['mattermost', 'your chat (Mattermost)'], ['webhook', 'your chat (signed webhook)']] as const;

  it('never set up: 404 installation_not_found, saying an admin sets it up and installs it first; no token is made', async () => {
    for (const [connector, chat] of chats) {
      const answer = await member.linkToken(orgId, connector);
      expect(answer.status, connector).toBe(404);
      expect(answer.body.error).toBe('installation_not_found');
      expect(answer.body.message).toBe(`pairgate is not installed in ${chat} for the organization Acme, so a link token would link nothing. An admin of the organization sets it up at https://pair.example/integrations and installs it in the chat; then make the token again.`);
    }
    expect(await liveTokens()).toBe(0);
  });

  it('set up but not installed yet: 409 installation_not_installed, saying to finish the install the setup described', async () => {
    for (const [connector, chat] of chats) {
      expect((await admin.setup(orgId, connector)).status).toBe(201);
      const answer = await member.linkToken(orgId, connector);
      expect(answer.status, connector).toBe(409);
      expect(answer.body).toEqual({ error: 'installation_not_installed', message: `pairgate is set up for ${chat} in the organization Acme but not installed in it yet, so a link token would link nothing. An admin of the organization finishes the install as the setup said (or sets up again at https://pair.example/integrations); then make the token again.` });
    }
    expect(await liveTokens()).toBe(0);
  });

  it('a setup that expired before its install is no installation: 404 again', async () => {
    clock.advance(86_400_000 + 1000);
    expect((await member.linkToken(orgId)).body.error).toBe('installation_not_found');
  });

  it('the refusals held no place: once installed, the account still makes its whole share', async () => {
    const { id, secret } = await installConnector(base, admin, orgId, 'mattermost', clock);
    const made = [await member.linkToken(orgId), await member.linkToken(orgId)];
    expect(made.map((answer) => answer.status)).toEqual([201, 201]);
    // Installed in Mattermost only: the webhook is still refused.
    expect((await member.linkToken(orgId, 'webhook')).body.error).toBe('installation_not_found');
    // And the token works, once.
    const mm = new FakeMattermost(base, clock);
    expect((await mm.call(id, 'link', secret, mmUser, { values: { token: made[0]!.body.token } })).body).toMatchObject({ type: 'ok', data: { linked: true, username: 'tokinst-member' } });
    clock.advance(1000);
    expect((await mm.call(id, 'link', secret, mmUser, { values: { token: made[0]!.body.token } })).body).toMatchObject({ type: 'error', data: { error: 'link_token_used' } });
  });

  it('an installation replaced by a new setup: issuing is refused (409) until it is installed, and a token made before is spent neither through the old one nor the new one (410)', async () => {
    const { id: oldId, secret: oldSecret } = await installConnector(base, admin, orgId, 'mattermost', clock);
    clock.advance(300_000);
    const before = await member.linkToken(orgId);
    expect(before.status).toBe(201);
    const setup = await admin.setup(orgId);
    expect((await member.linkToken(orgId)).body.error).toBe('installation_not_installed');
    const spent = await new FakeMattermost(base, clock).call(oldId, 'link', oldSecret, mmUser, { values: { token: before.body.token } });
    expect(spent.status).toBe(410);
    expect(spent.body).toMatchObject({ type: 'error', data: { error: 'installation_rotated' } });
    // Once the new setup is installed, tokens are made again; the one made for the old installation
    // links nothing through the new one.
    const newId = installationIdOf(setup.body.manifest_link);
    expect((await new FakeMattermost(base, clock).install(newId, setup.body.jwt_secret, mmUser)).status).toBe(200);
    const stale = await new FakeMattermost(base, clock).call(newId, 'link', setup.body.jwt_secret, mmUser, { values: { token: before.body.token } });
    expect(stale.body).toMatchObject({ type: 'error', data: { error: 'link_token_installation_gone' } });
    clock.advance(300_000);
    expect((await member.linkToken(orgId)).status).toBe(201);
  });

  it('the page\'s link-token form says it too, in a page, when the chat is not installed', async () => {
    const other = await admin.createOrg('Bare');
    await admin.get('/integrations');
    const page = await admin.post(`/integrations/orgs/${other}/mattermost/link-token`, {});
    expect(page.status).toBe(404);
    expect(page.text).toContain('so a link token would link nothing');
    expect(page.text).not.toMatch(/id="link-token"/);
  });

  it('uninstalled from Mattermost (on_uninstall): the installation is forgotten, tokens are refused, one made before links nothing', async () => {
    const org = await admin.createOrg('Uninstalled');
    expect((await admin.addMember(org, 'tokinst-member')).status).toBe(201);
    const { id, secret } = await installConnector(base, admin, org, 'mattermost', clock);
    // The member's earlier tokens expire: its share (2) is free again.
    clock.advance(301_000);
    const before = await member.linkToken(org);
    expect(before.status).toBe(201);
    const mm = new FakeMattermost(base, clock);
    // Only the secret's holder uninstalls.
    const forged = await mm.call(id, 'uninstall', 'not-the-secret-0123456789abcdefghij', mmUser);
    expect(forged.status).toBe(401);
    expect((await member.linkToken(org)).status).toBe(201);

    const uninstalled = await mm.call(id, 'uninstall', secret, mmUser);
    expect(uninstalled.status).toBe(200);
    expect(uninstalled.body).toEqual({ type: 'ok', text: 'Uninstalled: pairgate no longer answers here for organization Uninstalled. To use it again, an admin sets it up again at https://pair.example/integrations and installs the new setup.' });
    expect(await t.app.pairgate.stores.db.selectFrom('chat_installations').select('id').where('id', '=', id).executeTakeFirst()).toBeUndefined();

    const refused = await member.linkToken(org);
    expect(refused.status).toBe(404);
    expect(refused.body.error).toBe('installation_not_found');
    expect(refused.body.message).toContain('pairgate is not installed in your chat (Mattermost) for the organization Uninstalled');
    // The token made before cannot be spent: the installation's calls are refused before it is read.
    clock.advance(1000);
    const spent = await mm.call(id, 'link', secret, mmUser, { values: { token: before.body.token } });
    expect(spent.status).toBe(404);
    expect(spent.body).toMatchObject({ type: 'error', data: { error: 'installation_not_found' } });
    // Uninstalling again (or an installation pairgate never had) never blocks the admin's removal.
    clock.advance(1000);
    expect((await mm.call(id, 'uninstall', secret, mmUser)).body).toEqual({ type: 'ok', text: 'pairgate had no installation with this id: nothing to remove.' });
    // A new setup installed: the token made before the uninstall, still live, links nothing there
    // (left unspent, said apart from an unknown one), and new tokens are made (once the two live
    // ones expire: the account's share).
    const again = await installConnector(base, admin, org, 'mattermost', clock);
    const stale = await mm.call(again.id, 'link', again.secret, mmUser, { values: { token: before.body.token } });
    expect(stale.status).toBe(410);
    expect(stale.body).toEqual({ type: 'error', text: 'This link token was made while pairgate was installed here through an earlier installation, since uninstalled or replaced by a new setup, so it links nothing now. Create a new one at https://pair.example/integrations.', data: { error: 'link_token_installation_gone' } });
    expect(await t.app.pairgate.stores.db.selectFrom('chat_links').select('user_id').where('external_user_id', '=', mmUser.id).where('org_id', '=', org).executeTakeFirst()).toBeUndefined();
    clock.advance(301_000);
    expect((await member.linkToken(org)).status).toBe(201);
  });
});
