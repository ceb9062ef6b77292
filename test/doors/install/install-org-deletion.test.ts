import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { isPairgateError } from '../../../src/core/errors.js';
import type { DoorContext } from '../../../src/doors/door.js';
import { ChatCommands } from '../../../src/doors/install/chat-commands.js';
import { ChatKit } from '../../../src/doors/install/chat-kit.js';
import { ChatLinks } from '../../../src/doors/install/chat-links.js';
import { installConfigSchema } from '../../../src/doors/install/config.js';
import { Installations } from '../../../src/doors/install/installations.js';
import { LinkBudget } from '../../../src/doors/install/link-budget.js';
import { LINK_TOKEN_FORMAT, LINK_TOKEN_KIND, LinkTokens } from '../../../src/doors/install/link-tokens.js';
import { Organizations } from '../../../src/doors/install/organizations.js';
import { configSection } from '../../../src/server/config.js';
import { loadSecretKey, SecretBox } from '../../../src/server/secret-box.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { FakeMattermost, INSTALL_ENV, installationIdOf, Member, mattermostId, webhookCall, type MattermostUser } from './install-helpers.js';

/** An organization with everything deleting it must remove, made over the API and real calls. */
interface Populated {
  orgId: string;
  mattermost: { id: string; secret: string };
  /** Installed, used, then rotated by a newer setup. */
  webhook: { commandUrl: string; secret: string };
  /** The newer webhook setup, not installed yet. */
  webhookPending: { installUrl: string; secret: string };
  /** A live link token of the member, never spent. */
  unspentToken: string;
}

describe('install door: deleting an organization (real sockets, manual clock)', () => {
  let t: TestApp;
  let base: string;
  let clock: ManualClock;
  let mm: FakeMattermost;
  let admin: Member;
  let member: Member;
  const mmAdmin: MattermostUser = { id: mattermostId('deladmin'), username: 'sysadmin' };
  const mmMember: MattermostUser = { id: mattermostId('delmember'), username: 'member.mm' };

  beforeAll(async () => {
    clock = new ManualClock(Date.now());
    t = await createTestApp({ ...INSTALL_ENV, PAIRGATE_SESSION_TTL_SECONDS: String(30 * 86400) }, { clock });
    base = await t.listen();
    mm = new FakeMattermost(base, clock);
    admin = await Member.create(base, 'del-admin');
    member = await Member.create(base, 'del-member');
  });
  afterAll(() => t.close());

  const db = () => t.app.pairgate.stores.db;
  /** A second passes, as between a person's actions (webhook signatures and call tokens are per second). */
  const tick = () => clock.advance(1000);

  /** Members, a Mattermost installation (installed, with a bot token), webhook ones (one installed then rotated, one pending), two chat links and an unspent link token. */
  const populate = async (name: string): Promise<Populated> => {
    const orgId = await admin.createOrg(name);
    expect((await admin.addMember(orgId, 'del-member')).status).toBe(201);
    const mmSetup = await admin.setup(orgId);
    const mattermost = { id: installationIdOf(mmSetup.body.manifest_link), secret: mmSetup.body.jwt_secret as string };
    expect((await mm.install(mattermost.id, mattermost.secret, mmAdmin, 'bot-token-doomed-0123456789')).status).toBe(200);
    const hookSetup = (await admin.setup(orgId, 'webhook')).body;
    const webhook = { commandUrl: hookSetup.command_url as string, secret: hookSetup.signing_secret as string };
    expect((await webhookCall(base, hookSetup.install_url, webhook.secret, { site_url: 'https://bot.example.test' }, clock)).status).toBe(200);
    tick();
    expect((await mm.call(mattermost.id, 'link', mattermost.secret, mmMember, { values: { token: (await member.linkToken(orgId)).body.token } })).body.data.linked).toBe(true);
    expect((await webhookCall(base, webhook.commandUrl, webhook.secret, { user_id: 'U1', text: `link ${(await admin.linkToken(orgId, 'webhook')).body.token}` }, clock)).body.data.linked).toBe(true);
    const pendingSetup = (await admin.setup(orgId, 'webhook')).body;
    const webhookPending = { installUrl: pendingSetup.install_url as string, secret: pendingSetup.signing_secret as string };
    const unspentToken = (await member.linkToken(orgId)).body.token as string;
    return { orgId, mattermost, webhook, webhookPending, unspentToken };
  };

  /** Every row the organization owns, by table. */
  const rowsOf = async (orgId: string) => ({
    organizations: (await db().selectFrom('organizations').select('id').where('id', '=', orgId).execute()).length,
    members: (await db().selectFrom('organization_members').select('user_id').where('org_id', '=', orgId).execute()).length,
    installations: (await db().selectFrom('chat_installations').select('id').where('org_id', '=', orgId).execute()).length,
    links: (await db().selectFrom('chat_links').select('external_user_id').where('org_id', '=', orgId).execute()).length,
  });

  /** The grant behind a link token: still pending means it was never spent. */
  const grantOf = (token: string) => t.app.pairgate.engine.findByCode(LINK_TOKEN_KIND, LINK_TOKEN_FORMAT, token);

  it('an admin deletes it over the API: memberships, installations (secrets, bot tokens), links all go; the accounts and other organizations stay', async () => {
    const doomed = await populate('Doomed');
    const kept = await populate('Kept');
    expect(await rowsOf(doomed.orgId)).toEqual({ organizations: 1, members: 2, installations: 3, links: 2 });

    const answer = await admin.json('DELETE', `/api/v1/organizations/${doomed.orgId}`);
    expect(answer.status).toBe(204);
    expect(await rowsOf(doomed.orgId)).toEqual({ organizations: 0, members: 0, installations: 0, links: 0 });
    // Nothing else: the other organization whole, the accounts there.
    expect(await rowsOf(kept.orgId)).toEqual({ organizations: 1, members: 2, installations: 3, links: 2 });
    expect((await db().selectFrom('users').select('username').where('username', 'in', ['del-admin', 'del-member']).execute())).toHaveLength(2);
    expect((await member.json('GET', '/api/v1/organizations')).body.organizations.map((org: any) => org.id)).toEqual([kept.orgId]);
    expect((await admin.json('GET', `/api/v1/organizations/${doomed.orgId}/members`)).body.error).toBe('organization_not_found');
    const logged = t.logs.find((line) => line.includes('organization deleted') && line.includes(doomed.orgId));
    expect(logged).toBeDefined();
    expect(logged).toMatch(/"members":2,"installations":3,"links":2/);
    expect(t.logs.join('')).not.toContain(doomed.mattermost.secret);

    // Again: it is gone.
    const again = await admin.json('DELETE', `/api/v1/organizations/${doomed.orgId}`);
    expect(again.status).toBe(404);
    expect(again.body.error).toBe('organization_not_found');
    // The kept organization's installation still works.
    tick();
    expect((await mm.call(kept.mattermost.id, 'status', kept.mattermost.secret, mmMember)).body.data.linked).toBe(true);
  });

  it('calls from its chat installations get 404 installation_not_found in each connector\'s shape, and its link tokens link nothing', async () => {
    const doomed = await populate('Doomed Calls');
    expect((await admin.json('DELETE', `/api/v1/organizations/${doomed.orgId}`)).status).toBe(204);
    tick();

    for (const call of ['status', 'bindings', 'unlink', 'help', 'install', 'ping']) {
      const answer = await mm.call(doomed.mattermost.id, call, doomed.mattermost.secret, mmMember);
      expect(answer.status, call).toBe(404);
      expect(answer.body, call).toEqual({ type: 'error', text: expect.any(String), data: { error: 'installation_not_found' } });
    }
    expect((await fetch(`${base}/mattermost/${doomed.mattermost.id}/manifest.json`)).status).toBe(404);
    // The person reading it in the chat is told why an installation can be gone, and what to do.
    const said = (await mm.call(doomed.mattermost.id, 'status', doomed.mattermost.secret, mmMember)).body.text as string;
    expect(said).toContain('its organization was deleted');
    expect(said).toMatch(/An admin of the organization can set up again at http\S+\/integrations and install the new setup\.$/);
    // Not 410 installation_rotated any more: the rotated one went with the rest.
    const hook = await webhookCall(base, doomed.webhook.commandUrl, doomed.webhook.secret, { user_id: 'U1', text: 'status' }, clock);
    expect(hook).toMatchObject({ status: 404, body: { ok: false, error: 'installation_not_found' } });
    const hookInstall = await webhookCall(base, doomed.webhookPending.installUrl, doomed.webhookPending.secret, { site_url: 'https://bot.example.test' }, clock);
    expect(hookInstall).toMatchObject({ status: 404, body: { ok: false, error: 'installation_not_found' } });

    // The token made before the deletion: refused, and not even spent.
    const linked = await mm.call(doomed.mattermost.id, 'link', doomed.mattermost.secret, { id: mattermostId('latecomer'), username: 'late' }, { values: { token: doomed.unspentToken } });
    expect(linked.status).toBe(404);
    expect(linked.body.data.error).toBe('installation_not_found');
    expect((await grantOf(doomed.unspentToken))?.state).toBe('pending');
    expect(await rowsOf(doomed.orgId)).toEqual({ organizations: 0, members: 0, installations: 0, links: 0 });
  });

  it('a link racing the deletion (its call verified just before) finds the organization gone: 404, the token unspent, nothing linked', async () => {
    const doomed = await populate('Doomed Race');
    const ctx = { clock, engine: t.app.pairgate.engine, stores: t.app.pairgate.stores, logger: t.app.log, publicUrl: () => base } as unknown as DoorContext;
    const cfg = configSection(t.config, installConfigSchema);
    const orgs = new Organizations(db());
    const installations = new Installations(db(), new SecretBox(loadSecretKey('', t.config.PAIRGATE_DATA_DIR, 'PAIRGATE_INSTALL_SECRET_KEY')));
    const links = new ChatLinks(db());
    const tokens = new LinkTokens(t.app.pairgate.engine, t.app.pairgate.stores.ephemeral, clock, 300_000, 10_000, async (orgId) => (await orgs.find(orgId)) !== undefined);
    const kit = new ChatKit(ctx, cfg, orgs, installations, links, tokens, new LinkBudget(t.app.pairgate.stores.ephemeral, clock, 10, 200));

    // The call's checks ran: it holds the installation as it was, then the deletion commits.
    const stale = await kit.installation('mattermost', doomed.mattermost.id);
    expect((await admin.json('DELETE', `/api/v1/organizations/${doomed.orgId}`)).status).toBe(204);
    const commands = new ChatCommands(kit);
    const refusal = await commands.link(stale, { externalUserId: mattermostId('racer'), externalUsername: 'racer' }, commands.readToken(doomed.unspentToken)).catch((error: unknown) => error);
    expect(isPairgateError(refusal) && [refusal.status, refusal.code]).toEqual([404, 'installation_not_found']);
    expect((await grantOf(doomed.unspentToken))?.state).toBe('pending');
    expect(await rowsOf(doomed.orgId)).toEqual({ organizations: 0, members: 0, installations: 0, links: 0 });

    // Later still, a token already spent: the link itself finds the organization gone, in its transaction.
    const ref = { orgId: doomed.orgId, connector: 'mattermost', externalUserId: mattermostId('racer') };
    const user = await db().selectFrom('users').select('id').where('username', '=', 'del-member').executeTakeFirstOrThrow();
    expect(await links.link(ref, user.id, doomed.mattermost.id, null, clock.now())).toBe('organization_gone');
    expect(await rowsOf(doomed.orgId)).toEqual({ organizations: 0, members: 0, installations: 0, links: 0 });
  });

  it('only an admin may delete: a member gets 403, a stranger 404, nobody signed in 401, a cross-site request 403; nothing changes', async () => {
    const orgId = await admin.createOrg('Guarded');
    await admin.addMember(orgId, 'del-member');
    const byMember = await member.json('DELETE', `/api/v1/organizations/${orgId}`);
    expect(byMember.status).toBe(403);
    expect(byMember.body.error).toBe('permission_denied');
    const stranger = await Member.create(base, 'del-stranger');
    const byStranger = await stranger.json('DELETE', `/api/v1/organizations/${orgId}`);
    expect(byStranger.status).toBe(404);
    expect(byStranger.body.error).toBe('organization_not_found');
    expect((await fetch(`${base}/api/v1/organizations/${orgId}`, { method: 'DELETE' })).status).toBe(401);
    const crossSite = await admin.json('DELETE', `/api/v1/organizations/${orgId}`, undefined, { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' });
    expect(crossSite.status).toBe(403);
    expect(crossSite.body.error).toBe('csrf_failed');
    for (const id of ['not-an-id', '..%2F..', 'x'.repeat(300)]) expect((await admin.json('DELETE', `/api/v1/organizations/${id}`)).status).toBeLessThan(500);
    expect(await rowsOf(orgId)).toEqual({ organizations: 1, members: 2, installations: 0, links: 0 });
    // A second admin may: any admin, not only the creator.
    await admin.addMember(orgId, 'del-stranger', 'admin');
    expect((await stranger.json('DELETE', `/api/v1/organizations/${orgId}`)).status).toBe(204);
  });

  it('the page: the button leads to a page that says what goes; a wrong name or a missing CSRF token deletes nothing; the name deletes', async () => {
    const doomed = await populate('Doomed Page');
    const list = await admin.get('/integrations');
    expect(list.text).toContain(`action="/integrations/orgs/${doomed.orgId}/delete"`);
    // A member has no such button, and no such page.
    expect((await member.get('/integrations')).text).not.toContain('/delete"');
    expect((await member.get(`/integrations/orgs/${doomed.orgId}/delete`)).status).toBe(403);

    const confirm = await admin.get(`/integrations/orgs/${doomed.orgId}/delete?lang=en`);
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain('<h1>Delete Doomed Page</h1>');
    // Its way back is bare: the integrations page speaks the person's own language by itself.
    expect(confirm.text).toContain('<a class="button secondary" href="/integrations">');
    expect(confirm.text).toMatch(/id="delete-members">its list of members \(2\)/);
    expect(confirm.text).toMatch(/id="delete-installations">its chat installations \(2\)[^<]*Mattermost \(https:\/\/chat\.example\.test\), signed webhook</);
    expect(confirm.text).toMatch(/id="delete-links">[^<]*\(2\)/);
    expect(confirm.headers.get('cache-control') ?? '').not.toContain('public');

    for (const name of ['doomed page', 'Doomed', '', 'Doomed Page!']) {
      const wrong = await admin.post(`/integrations/orgs/${doomed.orgId}/delete`, { name });
      expect(wrong.status, name).toBe(400);
      // The error is the field's: next to it, and tied to it.
      expect(wrong.text).toMatch(/<input type="text" id="confirm-name" [^>]*autofocus aria-invalid="true" aria-describedby="confirm-name-error">/);
      expect(wrong.text).toMatch(/<p id="confirm-name-error" class="error" role="alert">This is not the name of the organization/);
    }
    const forged = await admin.post(`/integrations/orgs/${doomed.orgId}/delete`, { name: 'Doomed Page', _csrf: 'x'.repeat(43) });
    expect(forged.status).toBe(403);
    const byMember = await member.post(`/integrations/orgs/${doomed.orgId}/delete`, { name: 'Doomed Page' });
    expect(byMember.status).toBe(403);
    expect(await rowsOf(doomed.orgId)).toEqual({ organizations: 1, members: 2, installations: 3, links: 2 });

    await admin.get(`/integrations/orgs/${doomed.orgId}/delete`);
    // Spaces around the name do not matter.
    const done = await admin.post(`/integrations/orgs/${doomed.orgId}/delete`, { name: '  Doomed Page ' });
    expect(done.status).toBe(303);
    expect(done.location).toBe('/integrations?done=deleted');
    expect((await admin.get(done.location!)).text).toContain('The organization was deleted.');
    expect(await rowsOf(doomed.orgId)).toEqual({ organizations: 0, members: 0, installations: 0, links: 0 });
    // Gone: its page is a 404 now.
    expect((await admin.get(`/integrations/orgs/${doomed.orgId}/delete`)).status).toBe(404);
  });

  it('the confirmation page speaks French with ?lang=fr', async () => {
    const orgId = await admin.createOrg('Perdue');
    const page = await admin.get(`/integrations/orgs/${orgId}/delete?lang=fr`);
    expect(page.text).toContain('<h1>Supprimer Perdue</h1>');
    expect(page.text).toContain('tapez le nom de l’organisation\u00a0: <strong>Perdue</strong>');
    // The name set apart in bold, and each installation named in French.
    expect(page.text).toContain('<p>Supprimer l’organisation <strong id="delete-name">Perdue</strong> retire, aussitôt et pour de bon\u00a0:</p>');
  });

  it('the confirmation page opened signed out leads to the sign-in page, which comes back to it (not to the list)', async () => {
    const orgId = await admin.createOrg('Revenue');
    const answer = await fetch(`${base}/integrations/orgs/${orgId}/delete?lang=fr`, { redirect: 'manual' });
    expect(answer.status).toBe(303);
    const next = new URL(answer.headers.get('location')!, base).searchParams.get('next');
    expect(next).toBe(`/integrations/orgs/${orgId}/delete?lang=fr`);
  });
});
