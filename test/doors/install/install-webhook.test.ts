import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { signWebhook } from '../../../src/doors/install/webhook/webhook-signature.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { INSTALL_ENV, installConnector, Member } from './install-helpers.js';

describe('install door: the second connector, a signed webhook (real sockets)', () => {
  let t: TestApp;
  let base: string;
  let clock: ManualClock;
  let admin: Member;
  let orgId: string;

  beforeAll(async () => {
    clock = new ManualClock(Date.now());
    t = await createTestApp({ ...INSTALL_ENV, PAIRGATE_PUBLIC_URL: 'https://pair.example' }, { clock });
    base = await t.listen();
    admin = await Member.create(base, 'hook-admin');
    orgId = await admin.createOrg('Hooks');
  });
  afterAll(() => t.close());

  /** POSTs `body` to `url` (public URL rewritten to the test server), signed with `secret`. */
  const signed = async (url: string, secret: string, body: unknown, options: { timestamp?: number; signature?: string } = {}) => {
    // A second passes between calls, as between a person's commands: a signature is accepted once.
    clock.advance(1000);
    const raw = JSON.stringify(body);
    const timestamp = String(options.timestamp ?? Math.floor(clock.now() / 1000));
    const response = await fetch(url.replace('https://pair.example', base), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-pairgate-timestamp': timestamp, 'x-pairgate-signature': options.signature ?? signWebhook(secret, timestamp, raw) },
      body: raw,
    });
    return { status: response.status, body: (await response.json()) as any };
  };

  it('setup, signed install, then link / status / unlink through the shared commands', async () => {
    const setup = await admin.setup(orgId, 'webhook');
    expect(setup.status).toBe(201);
    const { install_url: installUrl, command_url: commandUrl, signing_secret: secret } = setup.body;
    expect(commandUrl).toMatch(/^https:\/\/pair\.example\/webhook\/[\w-]{22}\/command$/);
    expect(Buffer.from(secret, 'base64url').length).toBe(32);

    // Commands wait for the install, and the refusal says how a webhook installs: no command, a signed call.
    expect(await signed(commandUrl, secret, { user_id: 'U1', text: 'status' })).toEqual({ status: 409, body: { ok: false, error: 'installation_not_installed', text: 'This installation is not installed yet: send its install call first, a POST of {"site_url": ...} to the install URL pairgate showed at the setup, signed with its signing secret.' } });
    const installed = await signed(installUrl, secret, { site_url: 'https://bot.example.test/' });
    expect(installed).toEqual({ status: 200, body: { ok: true, text: 'Installed and linked with organization Hooks' } });

    const token = (await admin.linkToken(orgId, 'webhook')).body.token as string;
    const linked = await signed(commandUrl, secret, { user_id: 'U1', user_name: 'ada', text: `  link   ${token} ` });
    expect(linked).toEqual({ status: 200, body: { ok: true, text: 'Linked to the pairgate account hook-admin.', data: { linked: true, username: 'hook-admin' } } });
    expect((await signed(commandUrl, secret, { user_id: 'U1', text: 'status' })).body.data).toMatchObject({ linked: true, username: 'hook-admin' });
    expect((await signed(commandUrl, secret, { user_id: 'U2', text: `link ${token}` })).body.error).toBe('link_token_used');
    expect((await signed(commandUrl, secret, { user_id: 'U1', text: 'unlink' })).body.data.unlinked).toBe(true);
    expect((await signed(commandUrl, secret, { user_id: 'U1', text: 'help' })).body.text).toContain('link <token>');
    expect((await signed(commandUrl, secret, { user_id: 'U1', text: 'sudo' })).status).toBe(404);

    // A Mattermost token is not a webhook token: tokens belong to their connector.
    await installConnector(base, admin, orgId, 'mattermost', clock);
    const mattermostToken = (await admin.linkToken(orgId, 'mattermost')).body.token as string;
    expect((await signed(commandUrl, secret, { user_id: 'U3', text: `link ${mattermostToken}` })).body.error).toBe('link_token_unknown');

    // The secret is sealed at rest.
    const row = await t.app.pairgate.stores.db.selectFrom('chat_installations').selectAll().where('connector', '=', 'webhook').executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(secret);
  });

  it('a new setup installed from the same chat keeps its users\' links; one installed from another chat starts with none', async () => {
    const org = await admin.createOrg('Moving chats');
    const install = async (site: string) => {
      const setup = (await admin.setup(org, 'webhook')).body;
      expect((await signed(setup.install_url, setup.signing_secret, { site_url: site })).status).toBe(200);
      return { commandUrl: setup.command_url as string, secret: setup.signing_secret as string };
    };
    const status = async (at: { commandUrl: string; secret: string }, user: string) => (await signed(at.commandUrl, at.secret, { user_id: user, text: 'status' })).body.data;
    const first = await install('https://chat-a.example');
    const token = (await admin.linkToken(org, 'webhook')).body.token as string;
    expect((await signed(first.commandUrl, first.secret, { user_id: '42', text: `link ${token}` })).status).toBe(200);
    // The same chat set up again: user 42 is the same person there.
    const again = await install('https://chat-a.example');
    expect(await status(again, '42')).toMatchObject({ linked: true, username: 'hook-admin' });
    // Another chat: its user "42" is someone else, and must not inherit the account.
    const other = await install('https://chat-b.example');
    expect(await status(other, '42')).toMatchObject({ linked: false });
    const links = await t.app.pairgate.stores.db.selectFrom('chat_links').select('user_id').where('org_id', '=', org).execute();
    expect(links).toEqual([]);
  });

  it('refuses unsigned, wrongly signed, replayed-late and tampered calls with 401', async () => {
    const { command_url: commandUrl, install_url: installUrl, signing_secret: secret } = (await admin.setup(orgId, 'webhook')).body;
    await signed(installUrl, secret, { site_url: 'https://bot.example.test' });
    const body = { user_id: 'U9', text: 'status' };
    expect((await signed(commandUrl, secret, body)).status).toBe(200);
    expect((await signed(commandUrl, 'another-secret', body)).body.error).toBe('signature_invalid');
    expect((await signed(commandUrl, secret, body, { timestamp: Math.floor(clock.now() / 1000) - 301 })).body.error).toBe('signature_expired');
    expect((await signed(commandUrl, secret, body, { signature: signWebhook(secret, String(Math.floor(clock.now() / 1000)), JSON.stringify({ user_id: 'U8', text: 'status' })) })).body.error).toBe('signature_invalid');
    const unsigned = await fetch(commandUrl.replace('https://pair.example', base), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(unsigned.status).toBe(401);
    expect(((await unsigned.json()) as any).error).toBe('signature_missing');
  });

  it('a signature is accepted once: the same signed call again is 409 signature_replayed and does nothing', async () => {
    const { command_url: commandUrl, install_url: installUrl, signing_secret: secret } = (await admin.setup(orgId, 'webhook')).body;
    await signed(installUrl, secret, { site_url: 'https://bot.example.test' });
    const token = (await admin.linkToken(orgId, 'webhook')).body.token as string;
    const url = commandUrl.replace('https://pair.example', base);
    const send = async (raw: string, timestamp: string) => {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-pairgate-timestamp': timestamp, 'x-pairgate-signature': signWebhook(secret, timestamp, raw) }, body: raw });
      return { status: response.status, body: (await response.json()) as any };
    };
    const link = JSON.stringify({ user_id: 'U7', text: `link ${token}` });
    const unlink = JSON.stringify({ user_id: 'U7', text: 'unlink' });
    const at = String(Math.floor(clock.now() / 1000));
    expect((await send(link, at)).body.data.linked).toBe(true);
    const unlinked = await send(unlink, at);
    expect(unlinked.body.data.unlinked).toBe(true);
    // The captured unlink played again (after a new link) is refused, and the new link stays.
    clock.advance(1000);
    const relinkToken = (await admin.linkToken(orgId, 'webhook')).body.token as string;
    expect((await send(JSON.stringify({ user_id: 'U7', text: `link ${relinkToken}` }), String(Math.floor(clock.now() / 1000)))).body.data.linked).toBe(true);
    const replayed = await send(unlink, at);
    expect(replayed).toEqual({ status: 409, body: { ok: false, error: 'signature_replayed', text: expect.stringContaining('already received') } });
    expect((await signed(commandUrl, secret, { user_id: 'U7', text: 'status' })).body.data.linked).toBe(true);
    // Signed afresh, the same command goes through.
    clock.advance(1000);
    expect((await send(unlink, String(Math.floor(clock.now() / 1000)))).body.data.unlinked).toBe(true);
  });

  it('hostile input: 4xx in the webhook shape, never 5xx', async () => {
    const { command_url: commandUrl, signing_secret: secret } = (await admin.setup(orgId, 'webhook')).body;
    const url = commandUrl.replace('https://pair.example', base);
    for (const raw of ['{', '[]', 'null', '{"user_id": "x"}', '{"user_id": "../../", "text": "status"}', `{"user_id": "U1", "text": "${'x'.repeat(600)}"}`, '{"user_id": "U1", "text": "status", "extra": 1}']) {
      const timestamp = String(Math.floor(clock.now() / 1000));
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-pairgate-timestamp': timestamp, 'x-pairgate-signature': signWebhook(secret, timestamp, raw) }, body: raw });
      const text = await response.text();
      expect(response.status, `${raw} -> ${text}`).toBeGreaterThanOrEqual(400);
      expect(response.status, text).toBeLessThan(500);
      expect(JSON.parse(text).ok).toBe(false);
    }
    for (const timestamp of ['abc', '-1', '1'.repeat(20), '']) {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-pairgate-timestamp': timestamp, 'x-pairgate-signature': 'v1=00' }, body: '{"user_id":"U1","text":"status"}' });
      expect(response.status).toBe(401);
    }
    const huge = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: 'U1', text: 'x'.repeat(20_000) }) });
    expect(huge.status).toBe(413);
  });

  it('a signed JSON body poisoning a prototype is told so (body_forbidden_key), a malformed one invalid_json', async () => {
    const { install_url: installUrl, signing_secret: secret } = (await admin.setup(orgId, 'webhook')).body;
    const url = installUrl.replace('https://pair.example', base);
    for (const [raw, code] of [['{"site_url":"https://bot.example","__proto__":{"admin":true}}', 'body_forbidden_key'], ['{"site_url":', 'invalid_json']] as const) {
      clock.advance(1000);
      const timestamp = String(Math.floor(clock.now() / 1000));
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-pairgate-timestamp': timestamp, 'x-pairgate-signature': signWebhook(secret, timestamp, raw) }, body: raw });
      expect(response.status, code).toBe(400);
      expect(await response.json()).toMatchObject({ ok: false, error: code });
    }
  });

  it('a body that is not JSON is refused for its content type, not as a bad signature (signed rightly)', async () => {
    // Bytes, so that fetch adds no content type of its own.
    const { install_url: installUrl, signing_secret: secret } = (await admin.setup(orgId, 'webhook')).body;
    const url = installUrl.replace('https://pair.example', base);
    for (const [type, raw] of [['application/x-www-form-urlencoded', 'site_url=https%3A%2F%2Fbot.example'], ['text/plain', '{"site_url":"https://bot.example"}'], [undefined, 'site_url']] as const) {
      clock.advance(1000);
      const timestamp = String(Math.floor(clock.now() / 1000));
      const response = await fetch(url, { method: 'POST', headers: { ...(type ? { 'content-type': type } : {}), 'x-pairgate-timestamp': timestamp, 'x-pairgate-signature': signWebhook(secret, timestamp, raw) }, body: new TextEncoder().encode(raw) });
      expect(response.status, type).toBe(415);
      expect(await response.json()).toEqual({ ok: false, error: 'unsupported_media_type', text: `Webhook calls are JSON: send the body with content-type: application/json (this one came as ${type ?? 'no content type'}).` });
    }
  });

  it('the setup page lists the webhook connector next to Mattermost without a change to the page', async () => {
    const page = await admin.get('/integrations');
    // Named in lower case mid-sentence, with its article; capitalised only where a line starts with it (EN and FR).
    expect(page.text).toContain('Set up a signed webhook');
    expect(page.text).not.toMatch(/[^>]Signed webhook/);
    expect(page.text).toContain('Set up Mattermost');
    const form = await admin.post(`/integrations/orgs/${orgId}/webhook/setup`, {});
    expect(form.status).toBe(200);
    expect(form.text).toMatch(/id="setup-signing_secret">[\w-]{43}</);
    expect(form.text).toContain('id="setup-command_url"');
    // Its way back is bare: the integrations page speaks the person's own language by itself.
    expect(form.text).toContain('<a class="button secondary" href="/integrations">');
    // The link token page names the chat as a chat, whatever the connector is called (once the
    // setup is installed: the form's setup replaced the installed one).
    await installConnector(base, admin, orgId, 'webhook', clock);
    const installed = await admin.get('/integrations');
    expect(installed.text).toContain('Create a signed webhook link token');
    expect(installed.text).toContain('<li>Signed webhook: installed on https://bot.example.test</li>');
    const token = await admin.post(`/integrations/orgs/${orgId}/webhook/link-token`, {});
    expect(token.text).toContain('In your chat (signed webhook), run this command within 5 minutes.');
    expect(token.text).toContain('<dt>Command to run in your chat (signed webhook)</dt>');
    expect(token.text).not.toMatch(/[^>]Signed webhook/);
    await admin.get('/integrations?lang=fr');
    const french = await admin.get('/integrations');
    expect(french.text).toContain('Configurer un webhook signé');
    expect(french.text).toContain('Créer un jeton de liaison (webhook signé)');
    expect(french.text).toContain('<li>Webhook signé\u00a0: installé sur https://bot.example.test</li>');
    expect(french.text).not.toMatch(/Signed webhook|signed webhook/i);
    const frenchToken = await admin.post(`/integrations/orgs/${orgId}/webhook/link-token`, { lang: 'fr' });
    expect(frenchToken.text).toContain('Dans votre messagerie (webhook signé), lancez cette commande');
    expect(frenchToken.text).toContain('<dt>Commande à lancer dans votre messagerie (webhook signé)</dt>');
    expect(frenchToken.text).not.toMatch(/signed webhook/i);
    await admin.get('/integrations?lang=en');
    expect(token.text).toContain('<a class="button secondary" href="/integrations">');
  });
});
