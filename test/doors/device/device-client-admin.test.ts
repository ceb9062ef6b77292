import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { parseDeviceClients } from '../../../src/doors/device/clients.js';
import { ADMIN_FAILURES_PER_HOUR } from '../../../src/doors/device/admin-auth.js';
import { deviceDoor } from '../../../src/doors/device/device-door.js';
import { allDoors } from '../../../src/doors/index.js';
import { loadConfig } from '../../../src/server/config.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { FormClient } from '../access/form-client.js';
import { ADMIN_TOKEN, adminCall, decideInBrowser, DEVICE_ENV, INTROSPECTION_AUTH } from './device-helpers.js';
import { DEVICE_GRANT_TYPE } from '../../../src/doors/device/device-grant.js';

/** POSTs a form over the socket and parses the JSON answer. */
async function postForm(url: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(fields) });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** The display name's rule as the API says it (the same words as a refused PAIRGATE_DEVICE_CLIENTS). */
const NAME_RULE = 'name must be 1 to 100 characters, not only spaces, without control, invisible or text-direction characters (such as U+0000, U+200B or U+202E) or more than three accents on one letter: the consent screen shows it to the person as written.';

const configOf = (env: Record<string, string>) => loadConfig(allDoors.flatMap((door) => (door.configSchema ? [door.configSchema] : [])), { env });

describe('device client admin API over real sockets', () => {
  let t: TestApp;
  let base: string;
  const password = 'admin api password';
  beforeAll(async () => {
    t = await createTestApp({ ...DEVICE_ENV, PAIRGATE_DEVICE_ADMIN_TOKEN: ADMIN_TOKEN, PAIRGATE_RATE_LIMIT_MAX: '100000' });
    base = await t.listen();
    await new FormClient(base).register('admin-api-owner', password);
  });
  afterAll(() => t.close());

  const startDevice = async (clientId: string, scope?: string) =>
    postForm(`${base}/oauth/device_authorization`, { client_id: clientId, ...(scope !== undefined ? { scope } : {}) });
  const token = (deviceCode: string, clientId: string) => postForm(`${base}/oauth/token`, { grant_type: DEVICE_GRANT_TYPE, device_code: deviceCode, client_id: clientId });
  const introspect = async (accessToken: string) => (await postForm(`${base}/oauth/introspect`, { token: accessToken }, INTROSPECTION_AUTH)).body;

  it('no token or a wrong one: 401 device_admin_unauthorized with WWW-Authenticate, before the body is even looked at', async () => {
    // Five wrong tokens in all: this address's budget (ADMIN_FAILURES_PER_HOUR) is tested apart.
    const wrong = ['wrong-token', `${ADMIN_TOKEN}x`, ADMIN_TOKEN.slice(0, -1), ADMIN_TOKEN.toUpperCase(), ` ${ADMIN_TOKEN}.`];
    const routes = [['GET', '', undefined], ['GET', '/tv-app', undefined], ['PUT', '/new-one', { name: 'New' }], ['PUT', '/new-one', { bad: 'body' }], ['DELETE', '/new-one', undefined]] as const;
    for (const [index, [method, path, body]] of routes.entries()) {
      for (const presented of [null, wrong[index]!]) {
        const answer = await adminCall(base, method, path, body, presented);
        expect({ method, path, presented, status: answer.status }).toEqual({ method, path, presented, status: 401 });
        expect(answer.body).toEqual({ error: 'device_admin_unauthorized', message: expect.stringContaining('PAIRGATE_DEVICE_ADMIN_TOKEN') });
        expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="pairgate-device-admin"');
      }
    }
    // Before the body is read: a caller without the token learns neither the content types read nor the size allowed.
    for (const [contentType, body] of [['application/json', '{"name": '], ['text/plain', 'name=x'], ['application/json', JSON.stringify({ name: 'x'.repeat(2_000_000) })]] as const) {
      const response = await fetch(`${base}/api/v1/device/clients/new-one`, { method: 'PUT', headers: { 'content-type': contentType }, body });
      expect({ contentType, status: response.status }).toEqual({ contentType, status: 401 });
      expect(await response.json()).toMatchObject({ error: 'device_admin_unauthorized' });
    }
    // Basic credentials or a bare token are not the Bearer scheme.
    for (const authorization of [`Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`, ADMIN_TOKEN, `Bearer`]) {
      const response = await fetch(`${base}/api/v1/device/clients`, { headers: { authorization } });
      expect(response.status).toBe(401);
    }
    expect((await adminCall(base, 'GET', '/new-one')).status).toBe(404);
  });

  it('create, read, list, replace, delete; configured clients are listed as source "config"', async () => {
    const created = await adminCall(base, 'PUT', '/kiosk-1', { name: '  Lobby kiosk ', scopes: ['read', 'print', 'read'] });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ client_id: 'kiosk-1', name: 'Lobby kiosk', scopes: ['read', 'print'], source: 'api', created_at: expect.any(String), updated_at: expect.any(String) });
    expect((await adminCall(base, 'GET', '/kiosk-1')).body).toEqual(created.body);

    const list = await adminCall(base, 'GET', '');
    expect(list.status).toBe(200);
    expect(list.body.clients).toEqual([
      { client_id: 'cli', name: 'pairgate CLI', scopes: ['read', 'write'], source: 'config' },
      created.body,
      { client_id: 'tv-app', name: 'Living-room TV', scopes: null, source: 'config' },
    ]);

    await new Promise((resolve) => setTimeout(resolve, 5));
    const replaced = await adminCall(base, 'PUT', '/kiosk-1', { name: 'Hall kiosk' });
    expect(replaced.status).toBe(200);
    // Replacing sets everything: without scopes the client may ask for any scope.
    expect(replaced.body).toMatchObject({ client_id: 'kiosk-1', name: 'Hall kiosk', scopes: null, source: 'api', created_at: created.body.created_at });
    expect(Date.parse(String(replaced.body.updated_at))).toBeGreaterThan(Date.parse(String(created.body.created_at)));
    // An empty list is kept apart from "any": no scope at all.
    expect((await adminCall(base, 'PUT', '/kiosk-1', { name: 'Hall kiosk', scopes: [] })).body.scopes).toEqual([]);

    // Sent as many HTTP clients send every call, labelled JSON with no body: deleted all the same.
    const deleted = await fetch(`${base}/api/v1/device/clients/kiosk-1`, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' } });
    expect(deleted.status).toBe(204);
    expect(await adminCall(base, 'GET', '/kiosk-1')).toMatchObject({ status: 404, body: { error: 'device_client_not_found' } });
    expect(await adminCall(base, 'DELETE', '/kiosk-1')).toMatchObject({ status: 404, body: { error: 'device_client_not_found' } });
    expect(((await adminCall(base, 'GET', '')).body.clients as unknown[]).map((client) => (client as { client_id: string }).client_id)).toEqual(['cli', 'tv-app']);
  });

  it('a client_id with every allowed character, "/" included (escaped in the path)', async () => {
    const id = 'org/app.v2_~:@+-';
    const path = `/${encodeURIComponent(id)}`;
    expect((await adminCall(base, 'PUT', path, { name: 'Odd id' })).status).toBe(201);
    expect((await adminCall(base, 'GET', path)).body).toMatchObject({ client_id: id, name: 'Odd id' });
    expect((await startDevice(id)).status).toBe(200);
    expect((await adminCall(base, 'DELETE', path)).status).toBe(204);
    // The longest id, escapes and all, still fits the path parameter (its length counts decoded).
    const longest = `/${encodeURIComponent('a/'.repeat(50))}`;
    expect((await adminCall(base, 'PUT', longest, { name: 'Long id' })).status).toBe(201);
    expect((await adminCall(base, 'DELETE', longest)).status).toBe(204);
  });

  it('configured clients cannot be changed or deleted: 409 device_client_in_config, saying to edit the configuration', async () => {
    for (const [method, body] of [['PUT', { name: 'Hijacked' }], ['DELETE', undefined]] as const) {
      const answer = await adminCall(base, method, '/cli', body);
      expect(answer.status).toBe(409);
      expect(answer.body).toEqual({ error: 'device_client_in_config', message: expect.stringContaining('PAIRGATE_DEVICE_CLIENTS') });
    }
    expect((await adminCall(base, 'GET', '/cli')).body).toEqual({ client_id: 'cli', name: 'pairgate CLI', scopes: ['read', 'write'], source: 'config' });
  });

  it('bad input is a 400 validation_failed (never a 5xx), by the same rules as PAIRGATE_DEVICE_CLIENTS', async () => {
    const badBodies: unknown[] = [
      {}, { name: '' }, { name: '   ' }, { name: 'x'.repeat(101) }, { name: 'TV', scopes: ['a b'] }, { name: 'TV', scopes: ['"q"'] },
      { name: 'TV', scopes: ['back\\slash'] }, { name: 'TV', scopes: [''] }, { name: 'TV', scopes: ['x'.repeat(101)] },
      { name: 'TV', scopes: Array.from({ length: 101 }, (_, i) => `s${i}`) }, { name: 'TV', scopes: [{ a: 1 }] }, { name: 'TV', scopes: { read: true } },
      { name: { $ne: null } }, { name: 'TV', extra: 1 }, [], null,
    ];
    for (const body of badBodies) {
      const answer = await adminCall(base, 'PUT', '/fine-id', body);
      expect({ body, status: answer.status }).toEqual({ body, status: 400 });
      expect(answer.body.error).toBe('validation_failed');
    }
    for (const raw of ['{"name":', 'not json']) expect((await adminCall(base, 'PUT', '/fine-id', raw)).status).toBe(400);
    for (const id of ['a b', 'x'.repeat(101), 'quote"d', 'é', '%00', 'semi;colon']) {
      for (const method of ['GET', 'PUT', 'DELETE']) {
        const answer = await adminCall(base, method, `/${encodeURIComponent(id)}`, method === 'PUT' ? { name: 'TV' } : undefined);
        // Fastify refuses a path parameter over 100 characters itself: 414.
        expect({ id, method, status: answer.status }).toEqual({ id, method, status: id.length > 100 ? 414 : 400 });
      }
    }
    expect((await adminCall(base, 'GET', '/fine-id')).status).toBe(404);

    // Each rule is said in words, not as the regular expression that checks it.
    const said: [string, string, unknown, string][] = [
      ['PUT', '/fine-id', { name: '   ' }, NAME_RULE],
      ['PUT', '/fine-id', { name: 'x'.repeat(101) }, NAME_RULE],
      ['PUT', '/fine-id', { name: 'TV', scopes: ['read', 'a b'] }, 'scopes[1] must be a scope token: 1 to 100 characters, without spaces, double quotes or backslashes (RFC 6749).'],
      ['PUT', '/fine-id', { name: 'TV', scopes: Array.from({ length: 101 }, (_, i) => `s${i}`) }, 'scopes may hold at most 100 scope tokens.'],
      ['PUT', `/${encodeURIComponent('a b')}`, { name: 'TV' }, 'client_id (in the path) must be 1 to 100 characters of A-Z a-z 0-9 . _ ~ : @ / + -.'],
      ['GET', '/semi;colon', undefined, 'client_id (in the path) must be 1 to 100 characters of A-Z a-z 0-9 . _ ~ : @ / + -.'],
      // The rest keeps the server's usual words.
      ['PUT', '/fine-id', {}, 'body: "name" is required.'],
      ['PUT', '/fine-id', { name: 'TV', extra: 1 }, 'body: "extra" is not an accepted field.'],
    ];
    for (const [method, path, body, message] of said) {
      const answer = await adminCall(base, method, path, body);
      expect({ path, body, status: answer.status, answer: answer.body }).toEqual({ path, body, status: 400, answer: { error: 'validation_failed', message } });
    }

    // The API and the configuration parser accept and refuse the same registrations.
    const samples: { id: string; name: string; scopes?: string[] }[] = [
      { id: 'ok', name: 'Fine' }, { id: 'ok', name: ' padded ' }, { id: 'ok', name: '\t' }, { id: 'ok', name: '😀'.repeat(100) }, { id: 'ok', name: '😀'.repeat(101) },
      { id: 'ok', name: 'x'.repeat(100) }, { id: 'ok', name: 'Fine', scopes: ['read:all', 'a!#$%&()*+,-./<=>?@[]^_`{|}~'] }, { id: 'ok', name: 'Fine', scopes: ['é'] },
      { id: 'ok', name: 'Fine', scopes: Array.from({ length: 100 }, (_, i) => `s${i}`) }, { id: 'with space', name: 'Fine' }, { id: 'x'.repeat(100), name: 'Fine' }, { id: 'new\nline', name: 'Fine' },
    ];
    for (const sample of samples) {
      let parserAccepts = true;
      try {
        parseDeviceClients(JSON.stringify({ [sample.id]: { name: sample.name, ...(sample.scopes ? { scopes: sample.scopes } : {}) } }));
      } catch {
        parserAccepts = false;
      }
      const answer = await adminCall(base, 'PUT', `/${encodeURIComponent(sample.id)}`, { name: sample.name, ...(sample.scopes ? { scopes: sample.scopes } : {}) });
      expect(answer.status, JSON.stringify(sample).slice(0, 80)).toBeLessThan(500);
      expect({ sample: JSON.stringify(sample).slice(0, 80), apiAccepts: answer.status < 300 }).toEqual({ sample: JSON.stringify(sample).slice(0, 80), apiAccepts: parserAccepts });
      if (answer.status < 300) await adminCall(base, 'DELETE', `/${encodeURIComponent(sample.id)}`);
    }
  });

  it('a client registered through the API runs a whole device flow: authorization, approval in the browser, token', async () => {
    expect((await startDevice('set-top-box')).body).toMatchObject({ error: 'invalid_client' });
    expect((await adminCall(base, 'PUT', '/set-top-box', { name: 'Set-top box', scopes: ['watch', 'record'] })).status).toBe(201);
    const metadata = await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json() as { scopes_supported: string[] };
    expect(metadata.scopes_supported).toEqual(expect.arrayContaining(['read', 'write', 'watch', 'record']));

    expect((await startDevice('set-top-box', 'watch delete')).body.error).toBe('invalid_scope');
    const device = (await startDevice('set-top-box', 'watch')).body as { device_code: string; user_code: string };
    expect((await token(device.device_code, 'set-top-box')).body.error).toBe('authorization_pending');
    const { consent, done } = await decideInBrowser(base, device.user_code, 'admin-api-owner', password);
    expect(consent).toContain('Set-top box');
    expect(consent).toContain('<code id="client-id">set-top-box</code>');
    expect(consent).toContain('<li><code>watch</code></li>');
    expect(done).toContain('data-outcome="approved"');
    const answer = await token(device.device_code, 'set-top-box');
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ token_type: 'Bearer', scope: 'watch' });
    expect(await introspect(String(answer.body.access_token))).toMatchObject({ active: true, client_id: 'set-top-box', scope: 'watch', username: 'admin-api-owner' });
    expect((await postForm(`${base}/oauth/revoke`, { token: String(answer.body.access_token), client_id: 'set-top-box' })).status).toBe(200);
    expect(await introspect(String(answer.body.access_token))).toEqual({ active: false });
    await adminCall(base, 'DELETE', '/set-top-box');
  });

  it('deleting a client: pending device codes get invalid_client, the page will not approve it, its tokens are revoked; registered again, old codes stay dead', async () => {
    await adminCall(base, 'PUT', '/doomed', { name: 'Doomed app' });
    // One token issued before the deletion, one authorization pending, one typed in a browser.
    const first = (await startDevice('doomed')).body as { device_code: string; user_code: string };
    await decideInBrowser(base, first.user_code, 'admin-api-owner', password);
    const issued = String((await token(first.device_code, 'doomed')).body.access_token);
    expect(await introspect(issued)).toMatchObject({ active: true });
    const pending = (await startDevice('doomed')).body as { device_code: string; user_code: string };
    const later = (await startDevice('doomed')).body as { device_code: string; user_code: string };

    expect((await adminCall(base, 'DELETE', '/doomed')).status).toBe(204);
    const refused = await token(pending.device_code, 'doomed');
    expect(refused).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(await introspect(issued)).toEqual({ active: false });
    expect(await t.app.pairgate.stores.db.selectFrom('device_access_tokens').select('token_hash').where('client_id', '=', 'doomed').execute()).toEqual([]);
    expect((await startDevice('doomed')).body.error).toBe('invalid_client');
    // Not polled since the deletion: still waiting, and its page will not approve it.
    const { stopped } = await decideInBrowser(base, later.user_code, 'admin-api-owner', password);
    expect(stopped?.status).toBe(410);
    expect(stopped?.text).toContain('no longer registered');
    // Its device told invalid_client, the authorization ended (its waiting places given back): its code is spent.
    expect((await decideInBrowser(base, pending.user_code, 'admin-api-owner', password)).stopped?.status).toBe(404);

    // Registered again under the same id: a new client, to which the old codes were never issued.
    await adminCall(base, 'PUT', '/doomed', { name: 'Doomed app, again' });
    expect((await token(later.device_code, 'doomed')).body).toMatchObject({ error: 'invalid_grant', error_description: expect.stringContaining('earlier registration') });
    expect((await decideInBrowser(base, later.user_code, 'admin-api-owner', password)).stopped?.status).toBe(404);
    expect((await token(later.device_code, 'doomed')).body).toMatchObject({ error: 'invalid_grant', error_description: expect.stringContaining('earlier registration') });
    expect(await introspect(issued)).toEqual({ active: false });
    const fresh = (await startDevice('doomed')).body as { device_code: string; user_code: string };
    const { consent } = await decideInBrowser(base, fresh.user_code, 'admin-api-owner', password);
    expect(consent).toContain('Doomed app, again');
    expect((await token(fresh.device_code, 'doomed')).status).toBe(200);
    await adminCall(base, 'DELETE', '/doomed');
  });

  it('narrowing a client\'s scopes: a pending authorization for a scope it lost gets invalid_scope, and the consent screen shows the new name', async () => {
    await adminCall(base, 'PUT', '/narrowed', { name: 'Wide app', scopes: ['read', 'admin'] });
    const wide = (await startDevice('narrowed', 'read admin')).body as { device_code: string; user_code: string };
    const narrow = (await startDevice('narrowed', 'read')).body as { device_code: string; user_code: string };
    expect((await adminCall(base, 'PUT', '/narrowed', { name: 'Narrow app', scopes: ['read'] })).status).toBe(200);
    expect((await token(wide.device_code, 'narrowed')).body).toMatchObject({ error: 'invalid_scope', error_description: expect.stringContaining('admin') });
    const { consent } = await decideInBrowser(base, narrow.user_code, 'admin-api-owner', password);
    expect(consent).toContain('Narrow app');
    expect(consent).not.toContain('Wide app');
    expect((await token(narrow.device_code, 'narrowed')).body).toMatchObject({ scope: 'read' });
    await adminCall(base, 'DELETE', '/narrowed');
  });

  it('narrowing a client\'s scopes while a request waits: its page says which access the app may no longer ask for, with nothing to approve, and an approval sent from the page shown before is refused', async () => {
    await adminCall(base, 'PUT', '/narrowed-page', { name: 'Wide app', scopes: ['read', 'admin'] });
    const typedLater = (await startDevice('narrowed-page', 'read admin')).body as { device_code: string; user_code: string };
    const onScreen = (await startDevice('narrowed-page', 'read admin')).body as { device_code: string; user_code: string };
    // A person already on the consent screen when the admin narrows the client.
    const browser = new FormClient(base);
    await browser.get('/device');
    const typed = await browser.post('/device', { user_code: onScreen.user_code });
    const key = /request=([^&]+)/.exec(typed.location!)![1]!;
    expect((await browser.post('/device/signin', { key, login: 'admin-api-owner', password })).status).toBe(303);
    const before = await browser.get(typed.location!);
    expect(before.text).toContain('<li><code>admin</code></li>');
    expect((await adminCall(base, 'PUT', '/narrowed-page', { name: 'Wide app', scopes: ['read'] })).status).toBe(200);

    // Whoever types a code afterwards is told at once, before signing in, and offered nothing to approve.
    const { stopped } = await decideInBrowser(base, typedLater.user_code, 'admin-api-owner', password);
    expect(stopped?.status).toBe(410);
    expect(stopped?.text).toContain('data-code="device_scope_withdrawn"');
    expect(stopped?.text).toContain('no longer lets Wide app ask for');
    expect(stopped?.text).toContain('<li><code>admin</code></li>');
    expect(stopped?.text).not.toContain('<li><code>read</code></li>');
    expect(stopped?.text).not.toContain('name="decision"');
    // The page reloaded says the same; an approval from the page shown before is refused.
    const reloaded = await browser.get(typed.location!);
    expect(reloaded.status).toBe(410);
    expect(reloaded.text).not.toContain('name="decision"');
    const approval = await browser.post('/device/decide', { key, decision: 'approve' });
    expect(approval.status).toBe(410);
    expect(approval.text).toContain('data-code="device_scope_withdrawn"');
    expect(approval.text).not.toContain('data-outcome');
    expect((await t.app.pairgate.engine.get(key))?.state).toBe('pending');
    // The check reads the client as it is now: widened again before the device polled (and was
    // told invalid_scope, which ends it: tested below), the request may be approved.
    expect((await adminCall(base, 'PUT', '/narrowed-page', { name: 'Wide app', scopes: ['read', 'admin'] })).status).toBe(200);
    expect((await browser.get(typed.location!)).text).toContain('name="decision"');
    expect((await browser.post('/device/decide', { key, decision: 'approve' })).text).toContain('data-outcome="approved"');
    expect((await token(onScreen.device_code, 'narrowed-page')).body).toMatchObject({ scope: 'read admin' });
    await adminCall(base, 'DELETE', '/narrowed-page');
  });

  it('narrowing a client\'s scopes after a person refused, or a code was spent: the device is told that, not invalid_scope; an approved one it lost is invalid_scope', async () => {
    await adminCall(base, 'PUT', '/narrowed-late', { name: 'Wide app', scopes: ['read', 'admin'] });
    const refused = (await startDevice('narrowed-late', 'read admin')).body as { device_code: string; user_code: string };
    const approved = (await startDevice('narrowed-late', 'read admin')).body as { device_code: string; user_code: string };
    const spent = (await startDevice('narrowed-late', 'read admin')).body as { device_code: string; user_code: string };
    await decideInBrowser(base, refused.user_code, 'admin-api-owner', password, 'deny');
    await decideInBrowser(base, approved.user_code, 'admin-api-owner', password);
    await decideInBrowser(base, spent.user_code, 'admin-api-owner', password);
    expect((await token(spent.device_code, 'narrowed-late')).body).toMatchObject({ scope: 'read admin' });
    expect((await adminCall(base, 'PUT', '/narrowed-late', { name: 'Narrow app', scopes: ['read'] })).status).toBe(200);
    expect((await token(refused.device_code, 'narrowed-late')).body).toMatchObject({ error: 'access_denied' });
    expect((await token(spent.device_code, 'narrowed-late')).body).toMatchObject({ error: 'invalid_grant' });
    expect((await token(approved.device_code, 'narrowed-late')).body).toMatchObject({ error: 'invalid_scope', error_description: expect.stringContaining('admin') });
    await adminCall(base, 'DELETE', '/narrowed-late');
  });

  it('the routes are in the OpenAPI document under the device tag', async () => {
    const doc = await (await fetch(`${base}/docs/json`)).json() as { paths: Record<string, Record<string, { tags?: string[] }>> };
    expect(Object.keys(doc.paths['/api/v1/device/clients']!)).toEqual(['get']);
    expect(Object.keys(doc.paths['/api/v1/device/clients/{clientId}']!).sort()).toEqual(['delete', 'get', 'put']);
    for (const operation of [...Object.values(doc.paths['/api/v1/device/clients']!), ...Object.values(doc.paths['/api/v1/device/clients/{clientId}']!)]) expect(operation.tags).toEqual(['device']);
  });

  it('keeps the admin token out of the logs', async () => {
    await adminCall(base, 'GET', '');
    await adminCall(base, 'GET', '', undefined, 'a-wrong-token-for-the-log-check');
    const logs = t.logs.join('');
    expect(logs).not.toContain(ADMIN_TOKEN);
    expect(logs).not.toContain('a-wrong-token-for-the-log-check');
  });
});

describe('device client admin API: off, token rules, limits', () => {
  it('without PAIRGATE_DEVICE_ADMIN_TOKEN every route is 404 device_admin_disabled naming the key, token or not', async () => {
    const t = await createTestApp(DEVICE_ENV);
    try {
      const base = await t.listen();
      for (const [method, path] of [['GET', ''], ['GET', '/cli'], ['PUT', '/x'], ['DELETE', '/x']] as const) {
        for (const presented of [null, ADMIN_TOKEN, '']) {
          const answer = await adminCall(base, method, path, method === 'PUT' ? { name: 'X' } : undefined, presented);
          expect(answer.status).toBe(404);
          expect(answer.body).toEqual({ error: 'device_admin_disabled', message: expect.stringContaining('PAIRGATE_DEVICE_ADMIN_TOKEN') });
        }
      }
    } finally {
      await t.close();
    }
  });

  it('a short admin token, or one with spaces, stops start-up naming the key', () => {
    expect(() => deviceDoor.checkConfig!(configOf({ PAIRGATE_DEVICE_ADMIN_TOKEN: 'short' }))).toThrow(/PAIRGATE_DEVICE_ADMIN_TOKEN/);
    expect(() => deviceDoor.checkConfig!(configOf({ PAIRGATE_DEVICE_ADMIN_TOKEN: `${'x'.repeat(20)} ${'y'.repeat(20)}` }))).toThrow(/PAIRGATE_DEVICE_ADMIN_TOKEN/);
    expect(() => deviceDoor.checkConfig!(configOf({ PAIRGATE_DEVICE_ADMIN_TOKEN: ADMIN_TOKEN }))).not.toThrow();
  });

  it(`after ${ADMIN_FAILURES_PER_HOUR} wrong tokens an address is refused (429, also with the right token) for the hour; other addresses are not`, async () => {
    const clock = new ManualClock(Date.now());
    const t = await createTestApp({ ...DEVICE_ENV, PAIRGATE_DEVICE_ADMIN_TOKEN: ADMIN_TOKEN, PAIRGATE_RATE_LIMIT_MAX: '100000' }, { clock });
    try {
      const call = (token: string | undefined, remoteAddress = '203.0.113.7') =>
        t.app.inject({ method: 'GET', url: '/api/v1/device/clients', remoteAddress, headers: token !== undefined ? { authorization: `Bearer ${token}` } : {} });
      // Requests without a token are not guesses: they do not spend the budget.
      for (let i = 0; i < ADMIN_FAILURES_PER_HOUR + 5; i++) expect((await call(undefined)).statusCode).toBe(401);
      expect((await call(ADMIN_TOKEN)).statusCode).toBe(200);
      for (let i = 0; i < ADMIN_FAILURES_PER_HOUR; i++) expect((await call(`guess-${i}`)).statusCode).toBe(401);
      const blocked = await call(ADMIN_TOKEN);
      expect(blocked.statusCode).toBe(429);
      expect(blocked.json()).toMatchObject({ error: 'rate_limited' });
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(3000);
      expect((await call(ADMIN_TOKEN, '198.51.100.9')).statusCode).toBe(200);
      clock.advance(3_600_000 + 1000);
      expect((await call(ADMIN_TOKEN)).statusCode).toBe(200);
    } finally {
      await t.close();
    }
  });

  it('each admin route is rate limited per address: 429 rate_limited in pairgate\'s shape', async () => {
    const t = await createTestApp({ ...DEVICE_ENV, PAIRGATE_DEVICE_ADMIN_TOKEN: ADMIN_TOKEN, PAIRGATE_RATE_LIMIT_MAX: '100000' });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 61; i++) statuses.push((await t.app.inject({ method: 'GET', url: '/api/v1/device/clients', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).statusCode);
      expect(statuses.slice(0, 60).every((status) => status === 200)).toBe(true);
      expect(statuses[60]).toBe(429);
    } finally {
      await t.close();
    }
  });
});

/**
 * The admin API's routes allow 60 calls a minute per address, which the suite above comes close
 * to: the display name's characters have a server of their own.
 */
describe('device client display names the consent sentence shows', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp({ ...DEVICE_ENV, PAIRGATE_DEVICE_ADMIN_TOKEN: ADMIN_TOKEN });
    base = await t.listen();
  });
  afterAll(() => t.close());

  it('a display name with a text-direction override, a control or an invisible character is refused, by the API and at start-up alike', async () => {
    // The consent sentence shows the name as written: an unclosed U+202E turns it (and pairgate's
    // words after it) around, naming a client that is not the one asking, as it did for app ids.
    for (const name of ['\u202eKsoik', '<b>x</b>\u0000', 'kiosk\u200b-1', 'TV\u2066', '\u3164\u3164', 'TV\u034f', `TV${'\u0301'.repeat(20)}`]) {
      const answer = await adminCall(base, 'PUT', '/kiosk-1', { name });
      expect({ name, status: answer.status, body: answer.body }).toEqual({ name, status: 400, body: { error: 'validation_failed', message: NAME_RULE } });
      // A bad name in PAIRGATE_DEVICE_CLIENTS stops start-up, naming the key and the client.
      expect(() => deviceDoor.checkConfig!(configOf({ PAIRGATE_DEVICE_CLIENTS: JSON.stringify({ 'kiosk-1': name }) }))).toThrow('PAIRGATE_DEVICE_CLIENTS: the display name of "kiosk-1" must be 1 to 100 characters, not only spaces, without control, invisible or text-direction characters (such as U+0000, U+200B or U+202E) or more than three accents on one letter');
    }
    expect((await adminCall(base, 'GET', '/kiosk-1')).status).toBe(404);
    // JSON.parse makes a lone surrogate of an escape in the configuration (a JSON body cannot bring one any more).
    expect(() => parseDeviceClients('{"kiosk-1":"Kiosk \\ud800"}')).toThrow('the display name of "kiosk-1"');
    // Names in any script, with accents, punctuation and emoji stay welcome.
    expect((await adminCall(base, 'PUT', '/kiosk-1', { name: 'Borne « accueil » — 日本 📺' })).status).toBe(201);
    await adminCall(base, 'DELETE', '/kiosk-1');
  });
});
