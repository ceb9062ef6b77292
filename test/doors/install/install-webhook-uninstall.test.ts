import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { signWebhook } from '../../../src/doors/install/webhook/webhook-signature.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { INSTALL_ENV, Member } from './install-helpers.js';

/**
 * The signed webhook's uninstall call: a bot says pairgate was removed from it. Signed like every
 * webhook call; an installation pairgate no longer has answers ok, as Mattermost's on_uninstall does.
 */
describe('install door: the signed webhook\'s uninstall call (real sockets, manual clock)', () => {
  let t: TestApp;
  let base: string;
  let clock: ManualClock;
  let admin: Member;

  beforeAll(async () => {
    clock = new ManualClock(Date.now());
    t = await createTestApp({ ...INSTALL_ENV, PAIRGATE_PUBLIC_URL: 'https://pair.example', PAIRGATE_SESSION_TTL_SECONDS: String(30 * 86400) }, { clock });
    base = await t.listen();
    admin = await Member.create(base, 'hookgone-admin');
  });
  afterAll(() => t.close());

  /** POSTs `raw` to `url` (public URL rewritten to the test server), signed with `secret` at `timestamp`. */
  const send = async (url: string, secret: string, raw: string, timestamp = String(Math.floor(clock.now() / 1000))) => {
    const response = await fetch(url.replace('https://pair.example', base), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-pairgate-timestamp': timestamp, 'x-pairgate-signature': signWebhook(secret, timestamp, raw) },
      body: raw,
    });
    return { status: response.status, body: (await response.json()) as any };
  };
  /** `send` a second later, as a new call. */
  const signed = (url: string, secret: string, body: unknown) => {
    clock.advance(1000);
    return send(url, secret, JSON.stringify(body));
  };

  /** A webhook set up and installed in a new organization `name`, with chat user `U1` linked. */
  const installedWithLink = async (name: string) => {
    const orgId = await admin.createOrg(name);
    const setup = await admin.setup(orgId, 'webhook');
    expect(setup.status).toBe(201);
    const { install_url: installUrl, command_url: commandUrl, uninstall_url: uninstallUrl, signing_secret: secret } = setup.body;
    expect((await signed(installUrl, secret, { site_url: 'https://bot.example.test' })).status).toBe(200);
    const token = await admin.linkToken(orgId, 'webhook');
    expect((await signed(commandUrl, secret, { user_id: 'U1', text: `link ${token.body.token}` })).body.data).toMatchObject({ linked: true });
    return { orgId, commandUrl, uninstallUrl: uninstallUrl as string, secret: secret as string };
  };

  const db = () => t.app.pairgate.stores.db;
  const installationsOf = async (orgId: string) => (await db().selectFrom('chat_installations').select('id').where('org_id', '=', orgId).execute()).length;
  const linksOf = async (orgId: string) => (await db().selectFrom('chat_links').select('external_user_id').where('org_id', '=', orgId).execute()).length;

  it('a setup names its uninstall URL; a forged signature is 401 and removes nothing; a signed call removes the installation and its links; again, ok', async () => {
    const { orgId, commandUrl, uninstallUrl, secret } = await installedWithLink('Leaving');
    expect(uninstallUrl).toMatch(/^https:\/\/pair\.example\/webhook\/[\w-]{22}\/uninstall$/);

    const forged = await signed(uninstallUrl, 'not-the-signing-secret', {});
    expect(forged).toEqual({ status: 401, body: { ok: false, error: 'signature_invalid', text: 'The signature does not match this installation\'s secret.' } });
    const unsigned = await fetch(uninstallUrl.replace('https://pair.example', base), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(unsigned.status).toBe(401);
    expect(((await unsigned.json()) as any).error).toBe('signature_missing');
    expect(await installationsOf(orgId)).toBe(1);
    expect(await linksOf(orgId)).toBe(1);

    const at = String(Math.floor(clock.now() / 1000) + 1);
    clock.advance(1000);
    const uninstalled = await send(uninstallUrl, secret, '{}', at);
    expect(uninstalled).toEqual({ status: 200, body: { ok: true, text: 'Uninstalled: pairgate no longer answers here for organization Leaving. To use it again, an admin sets it up again at https://pair.example/integrations and installs the new setup.' } });
    expect(await installationsOf(orgId)).toBe(0);
    expect(await linksOf(orgId)).toBe(0);

    // Its calls and new link tokens are refused; a removal sent again (the same call replayed, or
    // signed afresh) is answered ok, as is an id pairgate never had.
    expect((await signed(commandUrl, secret, { user_id: 'U1', text: 'status' })).body.error).toBe('installation_not_found');
    expect((await admin.linkToken(orgId, 'webhook')).body.error).toBe('installation_not_found');
    const nothing = { status: 200, body: { ok: true, text: 'pairgate had no installation with this id: nothing to remove.' } };
    expect(await send(uninstallUrl, secret, '{}', at)).toEqual(nothing);
    expect(await signed(uninstallUrl, secret, {})).toEqual(nothing);
    expect(await signed('https://pair.example/webhook/AAAAAAAAAAAAAAAAAAAAAA/uninstall', secret, {})).toEqual(nothing);
  });

  it('leaves other organizations\' installations and links alone, and refuses a body with anything in it (400)', async () => {
    const leaving = await installedWithLink('Leaving too');
    const staying = await installedWithLink('Staying');
    const extra = await signed(leaving.uninstallUrl, leaving.secret, { reason: 'bye' });
    expect(extra.status).toBe(400);
    expect(extra.body.ok).toBe(false);
    expect((await signed(leaving.uninstallUrl, leaving.secret, {})).status).toBe(200);
    expect(await installationsOf(staying.orgId)).toBe(1);
    expect(await linksOf(staying.orgId)).toBe(1);
    expect((await signed(staying.commandUrl, staying.secret, { user_id: 'U1', text: 'status' })).body.data).toMatchObject({ linked: true });
  });

  it('a setup replaced by a newer one (not installed yet), uninstalled with its old secret, removes nothing: the newer setup installed from the same chat keeps the links', async () => {
    const { orgId, uninstallUrl, secret } = await installedWithLink('Rotating');
    const newer = await admin.setup(orgId, 'webhook');
    expect(newer.status).toBe(201);
    // The usual step before installing the newer setup, or whoever holds the old (leaked) secret.
    expect((await signed(uninstallUrl, secret, {})).body).toMatchObject({ ok: true, text: expect.stringContaining('nothing was removed') });
    expect(await linksOf(orgId)).toBe(1);
    expect((await signed(newer.body.install_url, newer.body.signing_secret, { site_url: 'https://bot.example.test' })).status).toBe(200);
    expect((await signed(newer.body.command_url, newer.body.signing_secret, { user_id: 'U1', text: 'status' })).body.data).toMatchObject({ linked: true });
  });
});
