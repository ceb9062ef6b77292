import { createHmac } from 'node:crypto';
import { SignJWT, UnsecuredJWT, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { FakeMattermost, INSTALL_ENV, installationIdOf, installConnector, Member, mattermostId, mattermostJwt, type MattermostUser } from './install-helpers.js';

describe('install door: Mattermost setup, manifest and signed calls (real sockets, manual clock)', () => {
  let t: TestApp;
  let base: string;
  let clock: ManualClock;
  let admin: Member;
  let member: Member;
  let orgId: string;
  let mm: FakeMattermost;
  const mmAdmin: MattermostUser = { id: mattermostId('sysadminuser'), username: 'sysadmin' };

  beforeAll(async () => {
    clock = new ManualClock(Date.now());
    t = await createTestApp({ ...INSTALL_ENV, PAIRGATE_PUBLIC_URL: 'https://pair.example', PAIRGATE_SESSION_TTL_SECONDS: String(30 * 86400) }, { clock });
    base = await t.listen();
    admin = await Member.create(base, 'mm-admin');
    member = await Member.create(base, 'mm-member');
    orgId = await admin.createOrg('Acme');
    await admin.addMember(orgId, 'mm-member');
    mm = new FakeMattermost(base, clock);
  });
  afterAll(() => t.close());

  /** A fresh setup of the org: installation id and secret. */
  const setup = async () => {
    const answer = await admin.setup(orgId);
    expect(answer.status).toBe(201);
    return { id: installationIdOf(answer.body.manifest_link), secret: answer.body.jwt_secret as string, body: answer.body };
  };

  it('setup answers the manifest link, the secret once, the install command and the expiry; not cached', async () => {
    const answer = await admin.setup(orgId);
    expect(answer.status).toBe(201);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    const id = installationIdOf(answer.body.manifest_link);
    expect(answer.body.manifest_link).toBe(`https://pair.example/mattermost/${id}/manifest.json`);
    expect(answer.body.install_command).toBe(`/apps install http https://pair.example/mattermost/${id}/manifest.json`);
    expect(Buffer.from(answer.body.jwt_secret, 'base64url').length).toBe(32);
    expect(Date.parse(answer.body.expires_at) - clock.now()).toBe(24 * 3600 * 1000);
    // Stored sealed: the row holds neither the secret nor anything that decodes to it.
    const row = await t.app.pairgate.stores.db.selectFrom('chat_installations').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(answer.body.jwt_secret);
    expect(row.secret_sealed).toMatch(/^v1\./);
    expect(t.logs.join('')).not.toContain(answer.body.jwt_secret);
  });

  it('a setup and a link token need no body at all when the person is in one organization (curl -X POST without -d)', async () => {
    const solo = await Member.create(base, 'mm-solo');
    const soloOrg = await solo.createOrg('Solo');
    const setup = await solo.json('POST', '/api/v1/integrations/mattermost/setup');
    expect(setup.status).toBe(201);
    expect(setup.body.manifest_link).toMatch(/\/mattermost\/[\w-]{22}\/manifest\.json$/);
    // A link token only where the chat is installed: the webhook, installed with a body.
    await installConnector(base, solo, soloOrg, 'webhook', clock);
    const token = await solo.json('POST', '/api/v1/integrations/webhook/link-tokens');
    expect(token.status).toBe(201);
    expect(token.body.org_id).toBe(soloOrg);
  });

  it('only an admin may set up: a member gets 403, a stranger 404, nobody 401', async () => {
    const byMember = await member.setup(orgId);
    expect(byMember.status).toBe(403);
    expect(byMember.body.error).toBe('permission_denied');
    // Without org_id, the member's only organization is meant: still 403.
    expect((await member.setup()).status).toBe(403);
    const stranger = await Member.create(base, 'mm-stranger');
    expect((await stranger.setup(orgId)).status).toBe(404);
    expect((await stranger.setup()).body.error).toBe('organization_not_found');
    const anonymous = await fetch(`${base}/api/v1/integrations/mattermost/setup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(anonymous.status).toBe(401);
  });

  it('the manifest is public, exactly as the spec says, and holds no secret', async () => {
    const { id, secret } = await setup();
    const response = await fetch(`${base}/mattermost/${id}/manifest.json`);
    expect(response.status).toBe(200);
    const manifest = (await response.json()) as Record<string, any>;
    expect(manifest).toEqual({
      app_id: 'pairgate',
      version: expect.any(String),
      display_name: 'pairgate',
      description: expect.any(String),
      homepage_url: 'https://pair.example',
      requested_permissions: ['act_as_bot', 'act_as_user'],
      requested_locations: ['/command', '/in_post', '/post_menu'],
      on_install: { path: `/mattermost/${id}/install`, expand: { app: 'all', acting_user: 'summary' } },
      on_uninstall: { path: `/mattermost/${id}/uninstall`, expand: { acting_user: 'summary' } },
      bindings: { path: `/mattermost/${id}/bindings` },
      http: { root_url: 'https://pair.example', use_jwt: true },
    });
    expect(manifest.app_id).toMatch(/^[A-Za-z0-9_.-]{3,32}$/);
    // The admin consents to what the description says: it promises only what the app does.
    expect(manifest.description).toBe('Link your Mattermost account to your pairgate account with a one-time token: /pairgate link <token>.');
    expect(JSON.stringify(manifest)).not.toContain(secret);
    expect((await fetch(`${base}/mattermost/AAAAAAAAAAAAAAAAAAAAAA/manifest.json`)).status).toBe(404);
    expect((await fetch(`${base}/mattermost/not-an-id/manifest.json`)).status).toBe(404);
  });

  it('on_install links the installation, stores site, bot user and bot token sealed; ping and bindings answer', async () => {
    const { id, secret } = await setup();
    const botToken = 'bot-token-very-secret-0123456789';
    const installed = await mm.install(id, secret, mmAdmin, botToken);
    expect(installed.status).toBe(200);
    expect(installed.body).toEqual({ type: 'ok', text: 'Installed and linked with organization Acme' });
    const row = await t.app.pairgate.stores.db.selectFrom('chat_installations').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ state: 'installed', org_id: orgId, site_url: 'https://chat.example.test', bot_user_id: mattermostId('botpairgate'), expires_at: null });
    expect(JSON.stringify(row)).not.toContain(botToken);
    expect(JSON.stringify(row)).not.toContain(secret);
    expect(row.bot_token_sealed).toMatch(/^v1\./);
    expect(t.logs.join('')).not.toContain(botToken);

    expect((await mm.call(id, 'ping', secret, mmAdmin)).body).toMatchObject({ type: 'ok' });
    const rootPing = await fetch(`${base}/ping`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(await rootPing.json()).toMatchObject({ type: 'ok' });

    const bindings = await mm.call(id, 'bindings', secret, mmAdmin);
    expect(bindings.status).toBe(200);
    expect(bindings.body.type).toBe('ok');
    expect(bindings.body.data).toHaveLength(1);
    expect(bindings.body.data[0].location).toBe('/command');
    const command = bindings.body.data[0].bindings[0];
    expect(command).toMatchObject({ location: 'pairgate', label: 'pairgate' });
    expect(command.bindings.map((b: any) => b.location)).toEqual(['link', 'unlink', 'status', 'help']);
    for (const binding of command.bindings) {
      const submit = binding.submit ?? binding.form?.submit;
      expect(submit.path).toBe(`/mattermost/${id}/${binding.location}`);
      expect(binding.submit && binding.form).toBeFalsy();
    }
    expect(command.bindings[0].form.fields).toEqual([expect.objectContaining({ name: 'token', type: 'text', is_required: true, position: 1 })]);

    // A second install from the same site updates the link (a new bot token); another site is refused.
    expect((await mm.install(id, secret, mmAdmin, 'bot-token-two-0123456789')).body.type).toBe('ok');
    const again = await t.app.pairgate.stores.db.selectFrom('chat_installations').select('bot_token_sealed').where('id', '=', id).executeTakeFirstOrThrow();
    expect(again.bot_token_sealed).not.toBe(row.bot_token_sealed);
    const other = await new FakeMattermost(base, clock, 'https://other-chat.example.test').install(id, secret, mmAdmin);
    expect(other.status).toBe(409);
    expect(other.body).toMatchObject({ type: 'error', data: { error: 'installation_site_mismatch' } });
  });

  it('two chat servers installing one setup at once: one links, the other gets 409', async () => {
    const { id, secret } = await setup();
    const sites = Array.from({ length: 10 }, (_, i) => new FakeMattermost(base, clock, `https://chat${i}.example.test`));
    const answers = await Promise.all(sites.map((site) => site.install(id, secret, mmAdmin)));
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(1);
    for (const answer of answers.filter((a) => a.status !== 200)) expect(answer.body.data.error).toBe('installation_site_mismatch');
    const winner = sites[answers.findIndex((answer) => answer.status === 200)]!;
    const row = await t.app.pairgate.stores.db.selectFrom('chat_installations').select('site_url').where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.site_url).toBe(winner.siteUrl);
  });

  it('rotation: a new setup invalidates the old secret and installation at once', async () => {
    const first = await setup();
    expect((await mm.install(first.id, first.secret, mmAdmin)).status).toBe(200);
    const second = await setup();
    const old = await mm.call(first.id, 'bindings', first.secret, mmAdmin);
    expect(old.status).toBe(410);
    expect(old.body).toMatchObject({ type: 'error', data: { error: 'installation_rotated' } });
    // The admin who ran the old link is told what to do next.
    expect(old.body.text).toContain('Install the newer setup, with the link and secret pairgate showed for it');
    const oldInstall = await mm.install(first.id, first.secret, mmAdmin);
    expect(oldInstall.body.data.error).toBe('installation_rotated');
    // The new secret does not open the old installation, nor the old one the new.
    expect((await mm.call(second.id, 'ping', first.secret, mmAdmin)).body.data.error).toBe('jwt_signature_invalid');
    expect((await fetch(`${base}/mattermost/${first.id}/manifest.json`)).status).toBe(410);
    // Once the new one is installed the old one is deleted (install-rotation.test.ts): 404.
    expect((await mm.install(second.id, second.secret, mmAdmin)).body.type).toBe('ok');
    expect((await fetch(`${base}/mattermost/${first.id}/manifest.json`)).status).toBe(404);
  });

  it('an un-installed setup expires after 24 h: install then fails', async () => {
    const { id, secret } = await setup();
    // Calls other than install and ping wait for the install.
    const early = await mm.call(id, 'bindings', secret, mmAdmin);
    expect(early.body.data.error).toBe('installation_not_installed');
    expect(early.body.text).toBe('This installation is not installed yet: run its install command in Mattermost first, as a system admin, and paste the JWT secret pairgate showed at the setup.');
    clock.advance(24 * 3600 * 1000 + 1000);
    const late = await mm.install(id, secret, mmAdmin);
    expect(late.status).toBe(410);
    expect(late.body).toMatchObject({ type: 'error', data: { error: 'installation_expired' } });
  });

  describe('call tokens: every rejection is a 401 call response', () => {
    let id: string;
    let secret: string;
    beforeAll(async () => {
      ({ id, secret } = await setup());
      await mm.install(id, secret, mmAdmin);
    });
    const now = () => Math.floor(clock.now() / 1000);
    const expectRejected = async (token: string | undefined, code: string, user: MattermostUser | null = mmAdmin) => {
      const response = await fetch(`${base}/mattermost/${id}/status`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token !== undefined ? { 'mattermost-app-authorization': token } : {}) },
        body: JSON.stringify({ path: `/mattermost/${id}/status`, context: { app_id: 'pairgate', ...(user ? { acting_user: { id: user.id, username: user.username } } : {}) } }),
      });
      const body = (await response.json()) as any;
      expect(response.status, code).toBe(401);
      expect(body, code).toMatchObject({ type: 'error', data: { error: code } });
      expect(typeof body.text).toBe('string');
      return body.text as string;
    };

    it('neither the secret nor a call token reaches the log', async () => {
      const token = await mattermostJwt(secret, mmAdmin.id, clock);
      await mm.call(id, 'status', secret, mmAdmin, {}, token);
      await mm.call(id, 'status', secret, mmAdmin, {}, `${token}x`);
      const logs = t.logs.join('');
      expect(logs).not.toContain(secret);
      expect(logs).not.toContain(token.split('.')[2]!);
    });
    it('a good token passes', async () => {
      expect((await mm.call(id, 'status', secret, mmAdmin)).status).toBe(200);
    });
    it('missing or malformed header', async () => {
      await expectRejected(undefined, 'jwt_missing');
      await expectRejected('Basic abc', 'jwt_malformed');
      await expectRejected('Bearer not-a-jwt', 'jwt_malformed');
      await expectRejected(`Bearer ${'a'.repeat(9000)}.b.c`, 'jwt_malformed');
    });
    it('alg none, RS256 and HS512 are refused', async () => {
      const unsigned = new UnsecuredJWT({ acting_user_id: mmAdmin.id }).setExpirationTime(now() + 600).encode();
      await expectRejected(`Bearer ${unsigned}`, 'jwt_algorithm_not_allowed');
      const { privateKey, publicKey } = await generateKeyPair('RS256');
      const rs = await new SignJWT({ acting_user_id: mmAdmin.id }).setProtectedHeader({ alg: 'RS256', jwk: await exportJWK(publicKey) }).setExpirationTime(now() + 600).sign(privateKey);
      await expectRejected(`Bearer ${rs}`, 'jwt_algorithm_not_allowed');
      await expectRejected(`Bearer ${await mattermostJwt(secret, mmAdmin.id, clock, { alg: 'HS512' })}`, 'jwt_algorithm_not_allowed');
    });
    it('an HS256 token with a critical header extension is refused for that, not told to use HS256', async () => {
      // jose refuses an unknown `crit` extension as "not supported", as it does an algorithm.
      const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT', crit: ['x-ext'], 'x-ext': 1 })).toString('base64url');
      const payload = Buffer.from(JSON.stringify({ acting_user_id: mmAdmin.id, exp: now() + 600 })).toString('base64url');
      const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
      const text = await expectRejected(`Bearer ${header}.${payload}.${signature}`, 'jwt_invalid');
      expect(text).toBe('The call token names a critical header extension (crit) that pairgate does not support; Mattermost sends none.');
    });
    it('a wrong secret, or a tampered payload', async () => {
      await expectRejected(`Bearer ${await mattermostJwt('someone-elses-secret-0123456789abcdef', mmAdmin.id, clock)}`, 'jwt_signature_invalid');
      const good = await mattermostJwt(secret, mmAdmin.id, clock);
      const [header, , signature] = good.split('.');
      const forged = Buffer.from(JSON.stringify({ acting_user_id: mattermostId('intruder'), exp: now() + 600 })).toString('base64url');
      await expectRejected(`Bearer ${header}.${forged}.${signature}`, 'jwt_signature_invalid', { id: mattermostId('intruder'), username: 'x' });
    });
    it('an install with another secret pasted tells the admin what went wrong and what to do', async () => {
      // In an organization of its own: a setup of Acme would rotate the installation these tests call.
      const fresh = await admin.setup(await admin.createOrg('Wrong Secret'));
      const wrong = await mm.install(installationIdOf(fresh.body.manifest_link), 'a-secret-from-another-setup-0123456789', mmAdmin);
      expect(wrong.status).toBe(401);
      expect(wrong.body).toEqual({ type: 'error', text: 'The call token is not signed with this installation\'s secret: the JWT secret the app was installed with in Mattermost is not the one pairgate showed for this setup. A system admin installs the app again with that secret, or sets up again in pairgate for a new one.', data: { error: 'jwt_signature_invalid' } });
    });
    it('expired, not yet valid, issued too long ago or in the future, living too long, no exp', async () => {
      // The admin is told the likely cause of a fresh token refused for its time: the clocks.
      const clocks = 'If Mattermost just sent it, the clocks of the Mattermost server and of pairgate disagree: set both by NTP.';
      expect(await expectRejected(`Bearer ${await mattermostJwt(secret, mmAdmin.id, clock, { exp: now() - 120 })}`, 'jwt_expired')).toBe(`The call token has expired. ${clocks}`);
      expect(await expectRejected(`Bearer ${await mattermostJwt(secret, mmAdmin.id, clock, { nbf: now() + 600 })}`, 'jwt_not_yet_valid')).toBe(`The call token is not valid yet. ${clocks}`);
      await expectRejected(`Bearer ${await mattermostJwt(secret, mmAdmin.id, clock, { iat: now() - 3600 })}`, 'jwt_too_old');
      await expectRejected(`Bearer ${await mattermostJwt(secret, mmAdmin.id, clock, { iat: now() + 3600 })}`, 'jwt_not_yet_valid');
      await expectRejected(`Bearer ${await mattermostJwt(secret, mmAdmin.id, clock, { exp: now() + 365 * 86400 })}`, 'jwt_lifetime_too_long');
      const noExp = await new SignJWT({ acting_user_id: mmAdmin.id }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret));
      expect(await expectRejected(`Bearer ${noExp}`, 'jwt_invalid')).toBe('The call token has no exp claim (Mattermost sets one on every call).');
    });
    it('a token meant for another recipient (aud) is refused; one naming pairgate, or none, passes', async () => {
      await expectRejected(`Bearer ${await mattermostJwt(secret, mmAdmin.id, clock, { aud: 'https://other-app.example' })}`, 'jwt_audience_invalid');
      await expectRejected(`Bearer ${await mattermostJwt(secret, mmAdmin.id, clock, { aud: ['other-app', 'another'] })}`, 'jwt_audience_invalid');
      expect((await mm.call(id, 'status', secret, mmAdmin, {}, await mattermostJwt(secret, mmAdmin.id, clock, { aud: 'pairgate' }))).status).toBe(200);
      expect((await mm.call(id, 'status', secret, mmAdmin, {}, await mattermostJwt(secret, mmAdmin.id, clock, { aud: ['other-app', 'https://pair.example'] }))).status).toBe(200);
    });
    it('a call without the acting_user expand (the bindings call) is checked against context.acting_user_id', async () => {
      const send = async (context: Record<string, unknown>) => {
        const response = await fetch(`${base}/mattermost/${id}/bindings`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'mattermost-app-authorization': `Bearer ${await mattermostJwt(secret, mmAdmin.id, clock)}` },
          body: JSON.stringify({ path: `/mattermost/${id}/bindings`, context: { app_id: 'pairgate', ...context } }),
        });
        return { status: response.status, body: (await response.json()) as any };
      };
      expect((await send({ acting_user_id: mmAdmin.id })).body.type).toBe('ok');
      expect((await send({ acting_user_id: mattermostId('someoneelse') })).body.data.error).toBe('acting_user_mismatch');
      expect((await send({ acting_user_id: mattermostId('someoneelse'), acting_user: { id: mmAdmin.id } })).body.data.error).toBe('acting_user_mismatch');
    });
    it('acting_user_id must equal context.acting_user.id', async () => {
      await expectRejected(`Bearer ${await mattermostJwt(secret, mattermostId('someoneelse'), clock)}`, 'acting_user_mismatch');
      await expectRejected(`Bearer ${await mattermostJwt(secret, undefined, clock)}`, 'acting_user_mismatch');
      await expectRejected(`Bearer ${await mattermostJwt(secret, mmAdmin.id, clock)}`, 'acting_user_mismatch', null);
    });
  });
});
