import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { ChatLinks } from '../../../src/doors/install/chat-links.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { FakeMattermost, INSTALL_ENV, installationIdOf, installConnector, Member, mattermostId, webhookCall, type MattermostUser } from './install-helpers.js';

/**
 * Uninstalling a chat installation removes the chat links made through it, with the installation
 * in one transaction: left behind, a later setup of the same chat would treat those chat users as
 * still linked to pairgate accounts, though pairgate had been removed from that chat.
 */
describe('install: an uninstall takes the installation\'s chat links with it (real sockets, manual clock)', () => {
  let t: TestApp;
  let base: string;
  let clock: ManualClock;
  let admin: Member;
  let mm: FakeMattermost;
  const ada: MattermostUser = { id: mattermostId('uninstallada'), username: 'ada' };
  const bob: MattermostUser = { id: mattermostId('uninstallbob'), username: 'bob' };

  beforeAll(async () => {
    clock = new ManualClock(Date.now());
    t = await createTestApp({ ...INSTALL_ENV, PAIRGATE_PUBLIC_URL: 'https://pair.example', PAIRGATE_SESSION_TTL_SECONDS: String(30 * 86400) }, { clock });
    base = await t.listen();
    admin = await Member.create(base, 'unlink-admin');
    mm = new FakeMattermost(base, clock);
  });
  afterAll(() => t.close());

  /** Links `user` in `orgId` through Mattermost installation `id` with a fresh token of the admin. */
  const link = async (orgId: string, id: string, secret: string, user: MattermostUser) => {
    clock.advance(1000);
    const token = await admin.linkToken(orgId);
    expect(token.status).toBe(201);
    const linked = await mm.call(id, 'link', secret, user, { values: { token: token.body.token } });
    expect(linked.body).toMatchObject({ type: 'ok', data: { linked: true } });
  };

  /** The chat users linked in `orgId` through `connector`, sorted. */
  const linkedUsers = async (orgId: string, connector = 'mattermost') =>
    (await t.app.pairgate.stores.db.selectFrom('chat_links').select('external_user_id').where('org_id', '=', orgId).where('connector', '=', connector).execute()).map((row) => row.external_user_id).sort();

  it('removes every link of the uninstalled installation, even one made before a new setup replaced the earlier one; a reinstall starts with none; other organizations and connectors keep theirs', async () => {
    const orgId = await admin.createOrg('Gone');
    const otherOrg = await admin.createOrg('Stays');
    const first = await installConnector(base, admin, orgId, 'mattermost', clock);
    await link(orgId, first.id, first.secret, ada);
    // A new setup installed in its place: ada's link holds through it.
    const second = await installConnector(base, admin, orgId, 'mattermost', clock);
    await link(orgId, second.id, second.secret, bob);
    // The same chat users in another organization, and a webhook user in this one.
    const other = await installConnector(base, admin, otherOrg, 'mattermost', clock);
    await link(otherOrg, other.id, other.secret, ada);
    const hook = await installConnector(base, admin, orgId, 'webhook', clock);
    const hookToken = await admin.linkToken(orgId, 'webhook');
    const commandUrl = `https://pair.example/webhook/${hook.id}/command`;
    expect((await webhookCall(base, commandUrl, hook.secret, { user_id: 'W1', text: `link ${hookToken.body.token}` }, clock)).body.data).toMatchObject({ linked: true });
    expect(await linkedUsers(orgId)).toEqual([ada.id, bob.id].sort());

    clock.advance(1000);
    expect((await mm.call(second.id, 'uninstall', second.secret, ada)).status).toBe(200);
    expect(await linkedUsers(orgId)).toEqual([]);
    expect(await linkedUsers(otherOrg)).toEqual([ada.id]);
    expect(await linkedUsers(orgId, 'webhook')).toEqual(['W1']);

    // Installed again: nobody is linked until they link again.
    const again = await installConnector(base, admin, orgId, 'mattermost', clock);
    clock.advance(1000);
    const status = await mm.call(again.id, 'status', again.secret, ada);
    expect(status.body).toMatchObject({ type: 'ok', data: { linked: false } });
    expect((await mm.call(other.id, 'status', other.secret, ada)).body).toMatchObject({ type: 'ok', data: { linked: true, username: 'unlink-admin' } });
  });

  it('an installation uninstalled after a newer setup replaced it (not installed yet) removes nothing: the new setup installed from the same chat takes the links over', async () => {
    const orgId = await admin.createOrg('Rotated');
    const first = await installConnector(base, admin, orgId, 'mattermost', clock);
    await link(orgId, first.id, first.secret, ada);
    const second = await installConnector(base, admin, orgId, 'mattermost', clock);
    await link(orgId, second.id, second.secret, bob);
    // A third setup, not installed yet: the second one is rotated, still answers its uninstall.
    const setup = await admin.setup(orgId);
    expect(setup.status).toBe(201);
    clock.advance(1000);
    // The usual step before installing the new setup, or whoever holds the old (leaked) secret:
    // the links made through both earlier installations stay for the new one.
    const before = await linkedUsers(orgId);
    expect(before).toHaveLength(2);
    const uninstalled = await mm.call(second.id, 'uninstall', second.secret, ada);
    expect(uninstalled.status).toBe(200);
    expect(uninstalled.body).toMatchObject({ type: 'ok', text: expect.stringContaining('nothing was removed') });
    expect(await linkedUsers(orgId)).toEqual(before);
    // The third setup, installed now from the same chat, takes them over.
    const thirdId = installationIdOf(setup.body.manifest_link);
    expect((await mm.install(thirdId, setup.body.jwt_secret, ada)).status).toBe(200);
    clock.advance(1000);
    expect((await mm.call(thirdId, 'status', setup.body.jwt_secret, bob)).body).toMatchObject({ type: 'ok', data: { linked: true } });
    expect((await mm.call(thirdId, 'status', setup.body.jwt_secret, ada)).body).toMatchObject({ type: 'ok', data: { linked: true } });
  });

  it('a link whose installation was uninstalled after its call was checked is refused, not written after the removal', async () => {
    const orgId = await admin.createOrg('Raced');
    const installed = await installConnector(base, admin, orgId, 'mattermost', clock);
    clock.advance(1000);
    expect((await mm.call(installed.id, 'uninstall', installed.secret, ada)).status).toBe(200);
    const userId = (await t.app.pairgate.stores.db.selectFrom('users').select('id').where('username', '=', 'unlink-admin').executeTakeFirstOrThrow()).id;
    const links = new ChatLinks(t.app.pairgate.stores.db);
    expect(await links.link({ orgId, connector: 'mattermost', externalUserId: ada.id }, userId, installed.id, 'ada', clock.now())).toBe('installation_gone');
    expect(await linkedUsers(orgId)).toEqual([]);
  });

  it('a forged uninstall removes nothing', async () => {
    const orgId = await admin.createOrg('Forged');
    const installed = await installConnector(base, admin, orgId, 'mattermost', clock);
    await link(orgId, installed.id, installed.secret, ada);
    expect((await mm.call(installed.id, 'uninstall', 'not-the-secret-0123456789abcdefghij', ada)).status).toBe(401);
    expect(await linkedUsers(orgId)).toEqual([ada.id]);
  });
});
