import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { ManualClock } from '../../../src/core/clock.js';
import { createTestApp, useListeningApp, type TestApp } from '../../helpers/app.js';
import { authRequest, FormClient, getJson, postJson } from './form-client.js';

const FAST = { PAIRGATE_SCRYPT_COST: '10' };

/** The introspection secret of the main suite: without one, /access/introspect refuses everyone. */
const INTROSPECTION_SECRET = 'access-introspection-secret-0123456789';

/** Reads the query parameters of a redirect target the way Pryv's own parser does. */
function pryvParams(url: string): Record<string, string> {
  const out: Record<string, string> = {};
  url.replace(/[?#&]+([^=&]+)=([^&]*)/g, (_m, key: string, value: string) => {
    out[key] = decodeURIComponent(value);
    return '';
  });
  return out;
}

describe('access door API over real sockets', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    // The suite creates more auth requests than one address may in a minute (60 by default); the
    // limits have their own suite (access-limits.test.ts).
    t = await createTestApp({ ...FAST, PAIRGATE_ACCESS_CREATE_PER_MINUTE: '1000', PAIRGATE_ACCESS_INTROSPECTION_SECRET: INTROSPECTION_SECRET, PAIRGATE_ACCESS_MAX_PER_USER: '3', PAIRGATE_ACCESS_TRUSTED_AUTH_URLS: 'https://auth.trusted.example/,https://good.example.com,https://pages.example.org/auth', PAIRGATE_ACCESS_RETURN_ORIGINS: '{"locked-app-id":["https://locked.example"]}' });
    base = await t.listen();
  });
  afterAll(() => t.close());

  it('documents its routes in the OpenAPI document', async () => {
    const doc = await getJson(`${base}/docs/json`);
    const paths = Object.keys(doc.body.paths as Record<string, unknown>);
    for (const path of ['/access', '/access/', '/access/{key}', '/service/info', '/{username}/access-info', '/access/introspect', '/access/auth', '/account/signin', '/account/register', '/account/reset', '/account/accesses']) expect(paths).toContain(path);
  });

  it('serves the service info at /service/info and /<username>/service/info', async () => {
    const info = await getJson(`${base}/service/info`);
    expect(info.status).toBe(200);
    expect(info.body).toMatchObject({ name: 'pairgate', access: `${base}/access/`, api: `${base}/{username}/`, register: `${base}/` });
    for (const key of ['home', 'support', 'terms', 'version']) expect(info.body).toHaveProperty(key);
    expect((await getJson(`${base}/someone/service/info`)).body).toEqual(info.body);
  });

  it('POST /access and POST /access/ answer 201 NEED_SIGNIN with every field, URLs encoded', async () => {
    for (const path of ['/access', '/access/']) {
      const { status, body } = await postJson(`${base}${path}`, authRequest({ returnURL: 'https://app.example/cb?x=1&', oauthState: null, clientData: { a: 1 }, deviceName: 'Laptop', referer: 'tests', expireAfter: 3600, languageCode: 'fr' }));
      expect(status).toBe(201);
      expect(body).toMatchObject({ status: 'NEED_SIGNIN', code: 201, requestingAppId: 'test-app-id', returnURL: 'https://app.example/cb?x=1&', poll_rate_ms: 1000, clientData: { a: 1 }, lang: 'fr', deviceName: 'Laptop', referer: 'tests', expireAfter: 3600, oauthState: null });
      for (const key of ['requestedPermissions', 'url', 'authUrl', 'poll', 'serviceInfo']) expect(body).toHaveProperty(key);
      const key = String(body.key);
      expect(key).toMatch(/^[a-zA-Z0-9_-]{10,200}$/);
      expect(Buffer.from(key, 'base64url').length).toBeGreaterThanOrEqual(16);
      expect(body.poll).toBe(`${base}/access/${key}`);
      expect(body.authUrl).toBe(`${base}/access/auth?poll=${encodeURIComponent(String(body.poll))}`);
      const url = new URL(String(body.url));
      expect(url.origin + url.pathname).toBe(`${base}/access/auth`);
      expect(Object.fromEntries(url.searchParams)).toMatchObject({ lang: 'fr', key, requestingAppId: 'test-app-id', returnURL: 'https://app.example/cb?x=1&', poll: body.poll, oauthState: '' });
      expect(String(body.url)).toContain(`returnURL=${encodeURIComponent('https://app.example/cb?x=1&')}`);
    }
  });

  it('polls a pending request: 201 NEED_SIGNIN with the request; unknown keys 404 in Pryv shape', async () => {
    const created = await postJson(`${base}/access`, authRequest());
    const polled = await getJson(String(created.body.poll));
    expect(polled.status).toBe(201);
    expect(polled.body).toEqual(created.body);
    const unknown = await getJson(`${base}/access/AAAAAAAAAAAAAAAAAAAAAA`);
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ id: 'unknown_key', error: { id: 'unknown_key' } });
    expect(typeof unknown.body.message).toBe('string');
    // A malformed key (a poll URL cut or pasted with a stray character) is told what to use, not
    // the regular expression that refused it; on the stream too.
    for (const path of ['/access/bad%20key', '/access/short', '/access/bad%20key/events']) {
      const malformed = await getJson(`${base}${path}`);
      expect(malformed.status, path).toBe(400);
      expect(malformed.body).toMatchObject({ id: 'validation_failed', message: 'This is not an auth request key (10 to 200 characters of A-Z a-z 0-9 _ -): use the poll URL that POST /access answered, unchanged.' });
    }
  });

  it('a requestedPermissions that is not a list says so, with an example (not "requestedPermissions.0 must be object")', async () => {
    for (const requestedPermissions of ['diary', 42, ['diary']]) {
      const { status, body } = await postJson(`${base}/access`, authRequest({ requestedPermissions }));
      expect({ requestedPermissions, status }).toEqual({ requestedPermissions, status: 400 });
      expect(body).toMatchObject({ id: 'validation_failed', message: 'requestedPermissions must be a list of permission objects, e.g. [{"streamId": "diary", "level": "read"}].' });
    }
  });

  const bad: [string, unknown, string][] = [
    ['bad JSON', '{"requestingAppId": ', 'invalid_json'],
    ['a wrong type for requestedPermissions', authRequest({ requestedPermissions: { streamId: 'x', level: 'read' } }), 'validation_failed'],
    ['a wrong type for requestingAppId', authRequest({ requestingAppId: { id: 'x' } }), 'validation_failed'],
    ['a wrong type for clientData', authRequest({ clientData: 'text' }), 'validation_failed'],
    ['a too short app id', authRequest({ requestingAppId: '  abc  ' }), 'invalid_app_id'],
    ['an over-long app id', authRequest({ requestingAppId: 'a'.repeat(100) }), 'invalid_app_id'],
    ['an over-long deviceName', authRequest({ deviceName: 'd'.repeat(201) }), 'validation_failed'],
    ['an over-long languageCode', authRequest({ languageCode: 'english' }), 'invalid_language_code'],
    ['over-large clientData', authRequest({ clientData: { big: 'x'.repeat(20_000) } }), 'invalid_client_data'],
    ['an unknown level', authRequest({ requestedPermissions: [{ streamId: 'diary', level: 'admin' }] }), 'validation_failed'],
    ['a permission with two subjects', authRequest({ requestedPermissions: [{ streamId: 'diary', tag: 't', level: 'read' }] }), 'invalid_permissions'],
    ['a stream permission without level', authRequest({ requestedPermissions: [{ streamId: 'diary' }] }), 'invalid_permissions'],
    ['no permissions', authRequest({ requestedPermissions: [] }), 'validation_failed'],
    ['an untrusted authUrl', authRequest({ authUrl: 'https://evil.example/auth' }), 'untrusted_auth_url'],
    // A trusted entry without a trailing slash is an origin, not a string prefix.
    ['an authUrl on a look-alike host', authRequest({ authUrl: 'https://good.example.com.evil.net/auth' }), 'untrusted_auth_url'],
    ['an authUrl with the trusted host as credentials', authRequest({ authUrl: 'https://good.example.com@evil.net/' }), 'untrusted_auth_url'],
    ['an authUrl on another port', authRequest({ authUrl: 'https://good.example.com:8443/' }), 'untrusted_auth_url'],
    ['an authUrl on a sibling path', authRequest({ authUrl: 'https://pages.example.org/authority' }), 'untrusted_auth_url'],
    ['an authUrl climbing out of the trusted path', authRequest({ authUrl: 'https://pages.example.org/auth/../evil' }), 'untrusted_auth_url'],
    // The parameters would land in the fragment, where the auth page never reads them.
    ['a trusted authUrl with a fragment', authRequest({ authUrl: 'https://auth.trusted.example/page#/signin' }), 'invalid_auth_url'],
    ['a trusted authUrl with an empty fragment', authRequest({ authUrl: 'https://auth.trusted.example/page#' }), 'invalid_auth_url'],
    ['a javascript: returnURL', authRequest({ returnURL: 'javascript:alert(1)//' }), 'invalid_return_url'],
    ['an ftp returnURL', authRequest({ returnURL: 'ftp://files.example/' }), 'invalid_return_url'],
    ['a relative returnURL', authRequest({ returnURL: '/relative?' }), 'invalid_return_url'],
    ['a returnURL with credentials', authRequest({ returnURL: 'https://user:pw@app.example/?' }), 'invalid_return_url'],
    // Hosts the URL parser keeps but the page's CSP (form-action) would read as more than an origin.
    ['a returnURL host with a semicolon', authRequest({ returnURL: 'https://x;script-src/cb' }), 'invalid_return_url'],
    ['a returnURL host that is a wildcard', authRequest({ returnURL: 'https://*/cb' }), 'invalid_return_url'],
    ['a returnURL host with a quote or a comma', authRequest({ returnURL: "https://a'b,c.example/cb" }), 'invalid_return_url'],
    ['a returnURL outside the app\'s allowed origins', authRequest({ requestingAppId: 'locked-app-id', returnURL: 'https://other.example/?' }), 'return_url_not_allowed'],
    ['serviceInfo without a name', authRequest({ serviceInfo: { access: 'x' } }), 'validation_failed'],
  ];
  for (const [what, body, code] of bad) {
    it(`answers 400 ${code} for ${what}`, async () => {
      const { status, body: answer } = await postJson(`${base}/access`, body);
      expect(status).toBe(400);
      expect(answer).toMatchObject({ id: code, error: { id: code } });
      expect(String(answer.message).length).toBeGreaterThan(10);
    });
  }

  it('refuses its own auth page with a fragment, saying why, rather than answer a url whose parameters the page cannot read', async () => {
    const answer = await postJson(`${base}/access`, authRequest({ authUrl: `${base}/access/auth#frag` }));
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ id: 'invalid_auth_url', error: { id: 'invalid_auth_url' }, detail: { field: 'authUrl' } });
    expect(String(answer.body.message)).toContain('authUrl must not have a fragment');
    const plain = await postJson(`${base}/access`, authRequest({ authUrl: `${base}/access/auth` }));
    expect(String(plain.body.url)).toMatch(new RegExp(`^${base}/access/auth\\?lang=en&key=${String(plain.body.key)}&`));
  });

  it('accepts a trusted authUrl and allowed return origins; false and null returnURL mean none', async () => {
    const trusted = await postJson(`${base}/access`, authRequest({ authUrl: 'https://auth.trusted.example/page', returnURL: false }));
    expect(trusted.status).toBe(201);
    expect(String(trusted.body.url)).toMatch(/^https:\/\/auth\.trusted\.example\/page\?lang=en&key=/);
    for (const [authUrl, expected] of [['https://good.example.com/sign-in', 'https://good.example.com/sign-in?'], ['https://pages.example.org/auth/page.html', 'https://pages.example.org/auth/page.html?'], ['https://pages.example.org/auth', 'https://pages.example.org/auth?']]) {
      const answer = await postJson(`${base}/access`, authRequest({ authUrl }));
      expect(answer.status, authUrl).toBe(201);
      expect(String(answer.body.url).startsWith(`${expected!}lang=en&key=`)).toBe(true);
    }
    expect(trusted.body.returnURL).toBeNull();
    // A query of the trusted page's own is kept, the request's parameters after it.
    const withQuery = await postJson(`${base}/access`, authRequest({ authUrl: 'https://auth.trusted.example/page?tenant=a%20b' }));
    expect(String(withQuery.body.url)).toMatch(/^https:\/\/auth\.trusted\.example\/page\?tenant=a%20b&lang=en&key=/);
    expect(String(withQuery.body.authUrl)).toBe(`https://auth.trusted.example/page?tenant=a%20b&poll=${encodeURIComponent(String(withQuery.body.poll))}`);
    const locked = await postJson(`${base}/access`, authRequest({ requestingAppId: 'locked-app-id', returnURL: 'https://locked.example/cb?' }));
    expect(locked.status).toBe(201);
  });

  it('accept: 200 ACCEPTED with username, token, apiEndpoint; the token works at access-info and introspection until revoked', async () => {
    const user = new FormClient(base);
    await user.register('acceptor');
    const created = await postJson(`${base}/access`, authRequest({ requestedPermissions: [{ streamId: '*', level: 'manage' }, { tag: 'health', level: 'read' }, { feature: 'selfRevoke', setting: 'forbidden' }] }));
    const page = await user.get(`/access/auth?key=${String(created.body.key)}`);
    expect(page.text).toContain('manage all data');
    expect(page.text).toContain('read data tagged &quot;health&quot;');
    expect((await user.post('/access/auth/decide', { key: String(created.body.key), decision: 'accept' })).status).toBe(200);
    const polled = await getJson(String(created.body.poll));
    expect(polled.status).toBe(200);
    expect(polled.body).toMatchObject({ status: 'ACCEPTED', code: 200, username: 'acceptor' });
    const token = String(polled.body.token);
    expect(polled.body.apiEndpoint).toBe(`${base.replace('://', `://${token}@`)}/acceptor/`);

    for (const authorization of [token, `Bearer ${token}`]) {
      const info = await getJson(`${base}/acceptor/access-info`, { authorization });
      expect(info.status).toBe(200);
      expect(info.body).toMatchObject({ type: 'app', name: 'test-app-id', user: { username: 'acceptor' }, expires: null });
      expect((info.body.meta as Record<string, unknown>).serverTime).toBeTypeOf('number');
    }
    expect((await getJson(`${base}/someone-else/access-info`, { authorization: token })).status).toBe(401);
    const wrong = await getJson(`${base}/acceptor/access-info`, { authorization: 'x'.repeat(43) });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ error: { id: 'invalid-access-token' } });
    // RFC 6750 §3: a 401 says how to authenticate, and whether the token presented was the trouble.
    const challenge = async (headers: Record<string, string>) => {
      const answer = await fetch(`${base}/acceptor/access-info`, { headers });
      expect(answer.status).toBe(401);
      return answer.headers.get('www-authenticate');
    };
    expect(await challenge({ authorization: 'x'.repeat(43) })).toBe('Bearer realm="pairgate", error="invalid_token"');
    expect(await challenge({})).toBe('Bearer realm="pairgate"');

    const introspectAs = (value: string, headers: Record<string, string>) => fetch(`${base}/access/introspect`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams({ token: value }) });
    const introspect = async (value: string) => (await introspectAs(value, { authorization: `Bearer ${INTROSPECTION_SECRET}` })).json() as Promise<Record<string, unknown>>;
    const introspected = await introspect(token);
    expect(introspected).toMatchObject({ active: true, client_id: 'test-app-id', username: 'acceptor', token_type: 'Bearer', scope: 'manage:* tag:read:health feature:selfRevoke:forbidden' });
    // The account's id, which is never reused, not its name.
    const account = await t.app.pairgate.stores.db.selectFrom('users').select('id').where('username', '=', 'acceptor').executeTakeFirstOrThrow();
    expect((introspected as { sub?: string }).sub).toBe(account.id);
    expect(await introspect('nope')).toEqual({ active: false });
    // Without the secret, or with a wrong one (the app's own token included), nothing about the token.
    const wrongHeaders: Record<string, string>[] = [{}, { authorization: 'Bearer nope' }, { authorization: `Bearer ${token}` }, { authorization: `Bearer ${INTROSPECTION_SECRET.slice(0, -1)}` }];
    for (const headers of wrongHeaders) {
      const refused = await introspectAs(token, headers);
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer realm="pairgate-introspection"/);
      expect(await refused.json()).toMatchObject({ error: 'introspection_unauthorized', message: expect.stringContaining('PAIRGATE_ACCESS_INTROSPECTION_SECRET') });
    }

    const list = await user.get('/api/v1/accesses');
    const accesses = (JSON.parse(list.text) as { accesses: { id: string }[] }).accesses;
    expect(accesses).toHaveLength(1);
    const cookie = [...user.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const revokeFrom = (headers: Record<string, string>) => fetch(`${base}/api/v1/accesses/${accesses[0]!.id}`, { method: 'DELETE', headers: { cookie, ...headers } });
    // A browser that says the request comes from another site is refused, whatever the cookie.
    const foreignHeaders: Record<string, string>[] = [{ 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }, { origin: 'https://evil.example' }, { origin: 'null' }];
    for (const foreign of foreignHeaders) {
      const refused = await revokeFrom(foreign);
      expect(refused.status).toBe(403);
      expect(await refused.json()).toMatchObject({ error: 'csrf_failed' });
    }
    expect(JSON.parse((await user.get('/api/v1/accesses')).text).accesses).toHaveLength(1);
    // Its own origin, or a program that sends no browser headers, may revoke.
    expect((await revokeFrom({ origin: base, 'sec-fetch-site': 'same-origin' })).status).toBe(204);
    expect((await revokeFrom({})).status).toBe(404);
    // A malformed id is told where ids come from, not the regular expression that refused it.
    const malformed = await fetch(`${base}/api/v1/accesses/not%20an%20id`, { method: 'DELETE', headers: { cookie } });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toEqual({ error: 'validation_failed', message: 'This is not an app access id: use the id of one of yours, from GET /api/v1/accesses.' });
    expect((await getJson(`${base}/acceptor/access-info`, { authorization: token })).status).toBe(401);
    expect(await introspect(token)).toEqual({ active: false });
  });

  it('deleting an account (password asked) takes its accesses and tokens with it; the name is free again', async () => {
    const user = new FormClient(base);
    await user.register('leaver-user', 'the leaver password');
    const created = await postJson(`${base}/access`, authRequest({ requestingAppId: 'leaver-app-id' }));
    expect((await user.decide(String(created.body.key), 'accept')).status).toBe(200);
    const token = String((await getJson(String(created.body.poll))).body.token);
    expect((await getJson(`${base}/leaver-user/access-info`, { authorization: token })).status).toBe(200);
    const session = user.cookies.get('pg_session');

    expect((await new FormClient(base).get('/account/delete')).location).toBe('/account/signin?next=%2Faccount%2Fdelete');
    const page = await user.get('/account/delete');
    expect(page.text).toContain('It cannot be undone.');
    const wrong = await user.post('/account/delete', { password: 'not the password' });
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain('The current password is wrong.');
    // The error is the password field's: tied to it, which has the focus.
    expect(wrong.text).toMatch(/<input type="password" id="password" [^>]*autofocus aria-invalid="true" aria-describedby="form-error">/);
    expect(wrong.text).toMatch(/id="form-error"[^>]*>The current password is wrong\.</);
    const forged = await user.post('/account/delete', { password: 'the leaver password', _csrf: '' });
    expect(forged.status).toBe(403);
    // A form that did not come from this site is not the field's fault.
    expect(forged.text).not.toContain('aria-invalid');
    expect((await getJson(`${base}/leaver-user/access-info`, { authorization: token })).status).toBe(200);

    const deleted = await user.post('/account/delete', { password: 'the leaver password' });
    expect(deleted.status).toBe(200);
    expect(deleted.text).toContain('Your account has been deleted.');
    expect(user.cookies.has('pg_session')).toBe(false);
    // Everything of the account is gone: the app's token, the session, the sign-in.
    expect((await getJson(`${base}/leaver-user/access-info`, { authorization: token })).status).toBe(401);
    expect((await fetch(`${base}/api/v1/accesses`, { headers: { cookie: `pg_session=${session}` } })).status).toBe(401);
    expect((await new FormClient(base).signIn('leaver-user', 'the leaver password')).status).toBe(401);
    // The username and e-mail can be registered again.
    await new FormClient(base).register('leaver-user', 'another password');
  });

  it('refuse: 403 REFUSED; a refused key cannot be accepted later', async () => {
    const user = new FormClient(base);
    await user.register('refuser');
    const created = await postJson(`${base}/access`, authRequest());
    const key = String(created.body.key);
    expect((await user.decide(key, 'refuse')).status).toBe(200);
    const polled = await getJson(String(created.body.poll));
    expect(polled.status).toBe(403);
    expect(polled.body).toEqual({ status: 'REFUSED', reasonID: 'REFUSED_BY_USER', message: expect.any(String), code: 403 });
    // The consent page is gone, and a replayed accept (form still open in another tab) is turned down.
    expect((await user.get(`/access/auth?key=${key}`)).status).toBe(409);
    const replay = await user.post('/access/auth/decide', { key, decision: 'accept' });
    expect(replay.status).toBe(409);
    expect((await getJson(String(created.body.poll))).body.status).toBe('REFUSED');
    expect(JSON.parse((await user.get('/api/v1/accesses')).text).accesses).toHaveLength(0);
    // Pryv's POST /access/:key (anyone may set the state) does not exist here.
    const other = await postJson(`${base}/access`, authRequest());
    // The path is served for reading only: 405 with Allow, and the state is unchanged.
    expect((await postJson(String(other.body.poll), { status: 'ACCEPTED', username: 'x', token: 'y' })).status).toBe(405);
    expect((await getJson(String(other.body.poll))).body.status).toBe('NEED_SIGNIN');
  });

  it('ERROR: beyond the per-user limit the request ends in 403 ERROR', async () => {
    const user = new FormClient(base);
    await user.register('collector');
    for (let i = 0; i < 3; i++) {
      const created = await postJson(`${base}/access`, authRequest({ requestingAppId: `collector-app-${i}` }));
      await user.decide(String(created.body.key), 'accept');
    }
    const created = await postJson(`${base}/access`, authRequest({ requestingAppId: 'collector-app-3' }));
    await user.decide(String(created.body.key), 'accept');
    const polled = await getJson(String(created.body.poll));
    expect(polled.status).toBe(403);
    expect(polled.body).toMatchObject({ status: 'ERROR', id: 'too_many_accesses', code: 403 });
    expect(typeof polled.body.message).toBe('string');
    expect(typeof polled.body.detail).toBe('string');
    // The person reads it in the page's language, with what to do and where (the app reads the
    // English message): the page once said "L'accès n'a pas pu être accordé : This account has...".
    const french = await postJson(`${base}/access`, authRequest({ requestingAppId: 'collector-app-4', languageCode: 'fr' }));
    const page = await user.decide(String(french.body.key), 'accept');
    expect(page.status).toBe(200);
    expect(page.text.replace(/&#39;/g, "'")).toContain("L’accès n’a pas pu être accordé\u00a0: votre compte a atteint le nombre d’accès d’applications que ce serveur permet. Révoquez-en un que vous n’utilisez plus");
    // Bare: the person's accesses speak their own language, not the one the app asked for.
    expect(page.text).toContain('<a href="/account/accesses">Vos accès des applications</a>');
    // Reloaded (or gone back to), it says the same, not "already answered, start again", which
    // would only end in the same ERROR.
    const reloaded = await user.get(`/access/auth?key=${String(french.body.key)}`);
    expect(reloaded.status).toBe(409);
    expect(reloaded.text.replace(/&#39;/g, "'")).toContain("Révoquez-en un que vous n’utilisez plus");
    expect(reloaded.text).toContain('<a href="/account/accesses">');
  });

  it('matching access: a compact one-click screen, then a further token (order-insensitive); mismatching: consent, then updated in place', async () => {
    const user = new FormClient(base);
    await user.register('repeater');
    const perms = [{ streamId: 'diary', level: 'read' }, { streamId: 'notes', level: 'contribute' }];
    const first = await postJson(`${base}/access`, authRequest({ requestingAppId: 'repeat-app', requestedPermissions: perms, deviceName: 'Work laptop', clientData: { 'app-web-auth:description': { type: 'note/txt', content: 'The repeat app.' } } }));
    const firstPage = await user.get(`/access/auth?key=${String(first.body.key)}`);
    expect(firstPage.text).toContain('Allow access?');
    expect(firstPage.text).toContain('The repeat app.');
    await user.post('/access/auth/decide', { key: String(first.body.key), decision: 'accept' });
    const firstToken = String((await getJson(String(first.body.poll))).body.token);

    const second = await postJson(`${base}/access`, authRequest({ requestingAppId: 'repeat-app', requestedPermissions: [...perms].reverse(), deviceName: 'Work laptop', clientData: { 'app-web-auth:description': { type: 'note/txt', content: 'The repeat app.' } } }));
    const page = await user.get(`/access/auth?key=${String(second.body.key)}`);
    // Not accepted on the visit: the compact screen asks for one click.
    expect(page.status).toBe(200);
    expect(page.text).toContain('<h1 tabindex="-1" autofocus>repeat-app on Work laptop asks again for the access it already has</h1>');
    expect(page.text).toContain('action="/access/auth/decide"');
    expect(page.text).not.toContain('The repeat app.'); // compact: no description
    expect(page.text).not.toContain('data-outcome');
    expect((await getJson(String(second.body.poll))).body.status).toBe('NEED_SIGNIN');
    const done = await user.post('/access/auth/decide', { key: String(second.body.key), decision: 'accept' });
    expect(done.text).toContain('data-outcome="ACCEPTED"');
    const secondToken = String((await getJson(String(second.body.poll))).body.token);
    expect(secondToken).not.toBe(firstToken);
    for (const token of [firstToken, secondToken]) expect((await getJson(`${base}/repeater/access-info`, { authorization: token })).status).toBe(200);
    expect(JSON.parse((await user.get('/api/v1/accesses')).text).accesses).toHaveLength(1); // a further token, not a second access

    // In French, and without a device name.
    const noDevice = await postJson(`${base}/access`, authRequest({ requestingAppId: 'repeat-app-2', requestedPermissions: perms, languageCode: 'fr' }));
    await user.decide(String(noDevice.body.key), 'accept');
    const again = await postJson(`${base}/access`, authRequest({ requestingAppId: 'repeat-app-2', requestedPermissions: perms, languageCode: 'fr' }));
    expect((await user.get(`/access/auth?key=${String(again.body.key)}`)).text).toContain("<h1 tabindex=\"-1\" autofocus>repeat-app-2 demande à nouveau l’accès qu’elle a déjà</h1>");

    const third = await postJson(`${base}/access`, authRequest({ requestingAppId: 'repeat-app', requestedPermissions: [{ streamId: 'diary', level: 'manage' }], deviceName: 'Work laptop' }));
    const consent = await user.get(`/access/auth?key=${String(third.body.key)}`);
    expect(consent.text).toContain('already has access with other permissions');
    await user.post('/access/auth/decide', { key: String(third.body.key), decision: 'accept' });
    const accesses = (JSON.parse((await user.get('/api/v1/accesses')).text).accesses as { appId: string; permissions: unknown[] }[]).filter((access) => access.appId === 'repeat-app');
    expect(accesses).toHaveLength(1); // updated, not duplicated
    expect(accesses[0]!.permissions).toEqual([{ streamId: 'diary', level: 'manage', name: 'diary' }]);
  });

  it('an auth URL opened by a signed-in browser issues no token by itself, even for an access the user already granted', async () => {
    // The victim uses a real app, on a named device.
    const victim = new FormClient(base);
    await victim.register('victim-user');
    const real = { requestingAppId: 'real-notes-app', requestedPermissions: [{ streamId: 'notes', level: 'manage', defaultName: 'Notes' }], deviceName: "Victim's phone" };
    const genuine = await postJson(`${base}/access`, authRequest(real));
    await victim.decide(String(genuine.body.key), 'accept');
    const tokenRows = async () => (await t.app.pairgate.stores.db.selectFrom('app_access_tokens').select('token_hash').execute()).length;
    const rowsBefore = await tokenRows();

    // The attacker starts the same request, keeps the poll URL, and gets the victim to open the
    // auth URL (a link, a redirect, an image, an iframe: all GETs carrying the Lax cookie).
    const attack = await postJson(`${base}/access`, authRequest({ ...real, returnURL: 'https://attacker.example/cb?' }));
    for (const url of [String(attack.body.authUrl), String(attack.body.url)]) {
      const visit = await victim.get(url);
      expect(visit.status).toBe(200);
      expect(visit.location).toBeNull(); // no redirect to the attacker's returnURL with a token
      expect(visit.text).toContain('asks again for the access it already has');
      expect(visit.text).not.toMatch(/<script(?![^>]*src="\/static\/)/); // no inline script that could submit the form
    }
    const polled = await getJson(`${String(attack.body.poll)}?wait=1`);
    expect(polled.status).toBe(201);
    expect(polled.body.status).toBe('NEED_SIGNIN');
    expect(polled.body).not.toHaveProperty('token');
    expect(await tokenRows()).toBe(rowsBefore);
    // A cross-site POST without the form's CSRF token is refused too.
    const forged = await fetch(`${base}/access/auth/decide`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: [...victim.cookies].map(([k, v]) => `${k}=${v}`).join('; '), origin: 'https://attacker.example' }, body: new URLSearchParams({ key: String(attack.body.key), decision: 'accept' }) });
    expect(forged.status).toBe(403);
    expect((await getJson(String(attack.body.poll))).body.status).toBe('NEED_SIGNIN');
    expect(await tokenRows()).toBe(rowsBefore);
  });

  it('the token is never stored in clear: a copy of the database holds neither it nor the poll key\'s secret', async () => {
    const user = new FormClient(base);
    await user.register('dumped-user');
    const created = await postJson(`${base}/access`, authRequest({ requestingAppId: 'dump-app-id' }));
    const key = String(created.body.key);
    const secret = key.slice(22);
    expect(secret.length).toBeGreaterThanOrEqual(43); // 256 bits after the 22-character id
    await user.decide(key, 'accept');
    /** Every byte of the data folder (the SQLite file, its WAL and shared memory) as text. */
    const dump = () => {
      const dir = String(t.config.PAIRGATE_DATA_DIR);
      return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).map((entry) => readFileSync(join(entry.parentPath, entry.name)).toString('latin1')).join('\n');
    };
    const rowsOf = async () => JSON.stringify((await sql`select * from grants where id = ${key.slice(0, 22)}`.execute(t.app.pairgate.stores.db)).rows);
    const before = dump();
    const row = await rowsOf();
    expect(row).toMatch(/ACCEPTED\W+sealed\W+v1\./); // the decision is there, sealed
    // The app reads the token with its key...
    const polled = await getJson(String(created.body.poll));
    expect(polled.body.status).toBe('ACCEPTED');
    const token = String(polled.body.token);
    // ...which nothing stored could have told: not the token, its apiEndpoint, nor the secret.
    for (const text of [before, row, dump(), await rowsOf()]) {
      expect(text.includes(token)).toBe(false);
      expect(text.includes(secret)).toBe(false);
      expect(text.includes(String(created.body.poll))).toBe(false);
    }
    expect(before.includes('dump-app-id')).toBe(true); // the dump is readable: the check would see the token
  });

  it('a key with a wrong secret is the same 404 as an unknown key, on the poll, the stream and the auth page', async () => {
    const user = new FormClient(base);
    await user.register('wrong-secret-user');
    const created = await postJson(`${base}/access`, authRequest({ requestingAppId: 'secret-app-id' }));
    const key = String(created.body.key);
    const unknown = await getJson(`${base}/access/${'B'.repeat(key.length)}`);
    expect(unknown.status).toBe(404);
    const flip = (c: string) => (c === 'A' ? 'B' : 'A');
    const wrongKeys = [
      key.slice(0, 22), // the id alone
      `${key.slice(0, 22)}${'A'.repeat(43)}`,
      `${key.slice(0, -1)}${flip(key.at(-1)!)}`, // one character off
      `${key}A`,
    ];
    for (const wrong of wrongKeys) {
      const polled = await getJson(`${base}/access/${wrong}?wait=1`);
      expect(polled.status, wrong).toBe(404);
      expect(polled.body).toEqual(unknown.body);
      expect((await fetch(`${base}/access/${wrong}/events`)).status).toBe(404);
      const page = await user.get(`/access/auth?key=${wrong}`);
      expect(page.status).toBe(404);
      expect(page.text).toContain('does not exist or has expired');
      await user.get(`/access/auth?key=${key}`);
      expect((await user.post('/access/auth/decide', { key: wrong, decision: 'accept' })).status).toBe(404);
    }
    expect((await getJson(String(created.body.poll))).body.status).toBe('NEED_SIGNIN');
    expect((await user.decide(key, 'accept')).text).toContain('data-outcome="ACCEPTED"');
    expect((await getJson(`${base}/access/${wrongKeys[1]!}`)).status).toBe(404); // decided: still nothing for a wrong secret
    expect((await getJson(String(created.body.poll))).body.status).toBe('ACCEPTED');
  });

  it('the pages of an unknown or decided key log no error (they are answers, not failures)', async () => {
    const user = new FormClient(base);
    await user.register('no-error-log-user');
    const created = await postJson(`${base}/access`, authRequest());
    const key = String(created.body.key);
    const errorsBefore = t.logs.filter((line) => /"level":50/.test(line)).length;
    expect((await user.get(`/access/auth?key=${'B'.repeat(key.length)}`)).status).toBe(404);
    expect((await user.decide(key, 'refuse')).status).toBe(200);
    expect((await user.get(`/access/auth?key=${key}`)).status).toBe(409);
    expect((await user.post('/access/auth/decide', { key, decision: 'accept' })).status).toBe(409);
    expect((await user.post('/access/auth/signin', { key, login: 'no-error-log-user', password: 'x' })).status).toBe(409);
    expect(t.logs.filter((line) => /"level":50/.test(line)).slice(errorsBefore)).toEqual([]);
  });

  it('redirects to the returnURL with every prYv parameter URL-encoded, and in OAuth mode with state/code/poll', async () => {
    const user = new FormClient(base);
    await user.register('redirected');
    const created = await postJson(`${base}/access`, authRequest({ requestingAppId: 'redirect-app', returnURL: 'https://app.example/cb?keep=1&' }));
    const done = await user.decide(String(created.body.key), 'accept');
    expect(done.status).toBe(303);
    const location = done.location!;
    expect(location.startsWith('https://app.example/cb?keep=1&prYvkey=')).toBe(true);
    const params = pryvParams(location);
    const polled = (await getJson(String(created.body.poll))).body;
    expect(params).toMatchObject({ keep: '1', prYvkey: created.body.key, prYvstatus: 'ACCEPTED', prYvusername: 'redirected', prYvtoken: polled.token, prYvapiEndpoint: polled.apiEndpoint, prYvpoll: created.body.poll, prYvlang: 'en' });
    expect(location).toContain(`prYvapiEndpoint=${encodeURIComponent(String(polled.apiEndpoint))}`);
    expect(location).not.toContain('prYvapiEndpoint=http://');

    const oauth = await postJson(`${base}/access`, authRequest({ requestingAppId: 'redirect-app-2', returnURL: 'https://app.example/oauth', oauthState: 'st&te=1 ?#' }));
    const oauthDone = await user.decide(String(oauth.body.key), 'refuse');
    const url = new URL(oauthDone.location!);
    expect(url.origin + url.pathname).toBe('https://app.example/oauth');
    expect(Object.fromEntries(url.searchParams)).toEqual({ error: 'access_denied', state: 'st&te=1 ?#', poll: oauth.body.poll });

    const oauthOk = await postJson(`${base}/access`, authRequest({ requestingAppId: 'redirect-app-3', returnURL: 'https://app.example/oauth#frag', oauthState: 'xyz' }));
    const okUrl = new URL((await user.decide(String(oauthOk.body.key), 'accept')).location!);
    expect(Object.fromEntries(okUrl.searchParams)).toEqual({ state: 'xyz', code: oauthOk.body.key, poll: oauthOk.body.poll });
    expect(okUrl.hash).toBe('#frag');
  });

  it('a pinned app\'s token goes only to its return address: whoever started the request and polls its key learns the decision, not the token', async () => {
    // The account of the test before (registrations are limited per address and hour).
    const user = new FormClient(base);
    expect((await user.signIn('redirected', 'correct horse battery')).status).toBe(303);
    // Without a returnURL there is nowhere to send a pinned app's token but the poll.
    expect((await postJson(`${base}/access`, authRequest({ requestingAppId: 'locked-app-id' }))).body).toMatchObject({ id: 'return_url_required' });

    // Pryv mode: the redirect to the pinned origin carries the token, and a poll address with its code.
    const started = await postJson(`${base}/access`, authRequest({ requestingAppId: 'locked-app-id', returnURL: 'https://locked.example/cb?' }));
    const watching = getJson(`${String(started.body.poll)}?wait=10`);
    const done = await user.decide(String(started.body.key), 'accept');
    const params = pryvParams(done.location!);
    expect(params.prYvtoken).toMatch(/.{20,}/);
    const attacker = (await watching).body;
    expect(attacker).toMatchObject({ status: 'ACCEPTED', code: 200 });
    expect(attacker).not.toHaveProperty('token');
    expect(attacker).not.toHaveProperty('apiEndpoint');
    expect(attacker).not.toHaveProperty('username');
    expect((await getJson(String(started.body.poll))).body).not.toHaveProperty('token');
    expect((await getJson(`${String(started.body.poll)}?code=wrong-code`)).body).not.toHaveProperty('token');
    const app = (await getJson(params.prYvpoll!)).body;
    expect(app).toMatchObject({ status: 'ACCEPTED', username: 'redirected', token: params.prYvtoken });

    // OAuth mode: the redirect carries the key as code and the poll address with the delivery code.
    const oauth = await postJson(`${base}/access`, authRequest({ requestingAppId: 'locked-app-id', returnURL: 'https://locked.example/oauth', oauthState: 'st' }));
    const oauthDone = new URL((await user.decide(String(oauth.body.key), 'accept')).location!);
    expect((await getJson(String(oauth.body.poll))).body).not.toHaveProperty('token');
    const poll = oauthDone.searchParams.get('poll')!;
    expect(poll.startsWith(`${String(oauth.body.poll)}?code=`)).toBe(true);
    expect((await getJson(poll)).body).toMatchObject({ status: 'ACCEPTED', username: 'redirected', token: expect.stringMatching(/.{20,}/) });
    // A wait added to that address with a second `?` lands in the code: said so, not "ACCEPTED" without a token.
    const misjoined = await getJson(`${poll}?wait=5`);
    expect(misjoined.status).toBe(400);
    expect(misjoined.body).toMatchObject({ id: 'invalid_delivery_code', message: expect.stringContaining('&wait=') });
    expect((await getJson(`${poll}&wait=5`)).body).toMatchObject({ token: expect.stringMatching(/.{20,}/) });
  });

  it('redirects to the returnURL as a browser reads it: a line break, a character beyond Latin-1 or a missing // do not break the redirect', async () => {
    const user = new FormClient(base);
    await user.register('odd-return-user');
    // Each was accepted by POST /access (WHATWG URL parses it) but sent as written: Node refused the
    // first two in a Location header (a 500 after the access was granted), and a browser reads the
    // third as a path on pairgate itself while the consent screen named app.example.
    const cases: [string, string][] = [
      ['https://app.example/c\nb?', 'https://app.example/cb?'],
      ['https://app.example/café/日本?', 'https://app.example/caf%C3%A9/%E6%97%A5%E6%9C%AC?'],
      ['http:app.example/cb?', 'http://app.example/cb?'],
    ];
    for (const [returnURL, expected] of cases) {
      const created = await postJson(`${base}/access`, authRequest({ requestingAppId: 'odd-return-app', returnURL }));
      expect(created.status, returnURL).toBe(201);
      const consent = await user.get(`/access/auth?key=${String(created.body.key)}`);
      expect(consent.text).toContain('you go back to app.example');
      const done = await user.decide(String(created.body.key), 'accept');
      expect(done.status, returnURL).toBe(303);
      expect(done.location!.startsWith(`${expected}prYvkey=`), String(done.location)).toBe(true);
    }
  });

  it('the auth page finds the request from authUrl\'s poll parameter, and sign-out ends the session', async () => {
    const user = new FormClient(base);
    await user.register('poll-param-user');
    const created = await postJson(`${base}/access`, authRequest({ requestingAppId: 'poll-param-app' }));
    const page = await user.get(String(created.body.authUrl).replace(base, ''));
    expect(page.status).toBe(200);
    expect(page.text).toContain(`name="key" value="${String(created.body.key)}"`);
    // A poll URL of another server is not followed.
    expect((await user.get(`/access/auth?poll=${encodeURIComponent(`https://evil.example/access/${String(created.body.key)}`)}`)).status).toBe(404);
    expect((await user.post('/account/signout', {})).location).toBe('/account/signin');
    expect((await user.get('/api/v1/accesses')).status).toBe(401);
    const signIn = await user.get(`/access/auth?key=${String(created.body.key)}`);
    expect(signIn.text).toContain('action="/access/auth/signin"');
  });

  it('the sign-in form of the auth page says in a whole sentence who asks, in the request\'s language', async () => {
    // It once borrowed the consent screen's "asks for access to your account, to:" and cut the
    // colon: "..., to." in English, "..., pour ." in French, with nothing after.
    for (const [lang, sentence] of [['en', 'signin-intro-app asks for access to your account. Sign in to continue.'], ['fr', 'signin-intro-app demande un accès à votre compte. Connectez-vous pour continuer.']] as const) {
      const created = await postJson(`${base}/access`, authRequest({ requestingAppId: 'signin-intro-app', languageCode: lang }));
      const page = await new FormClient(base).get(String(created.body.url).replace(base, ''));
      expect(page.status).toBe(200);
      const intro = /<p class="muted">([^<]*)<\/p>/.exec(page.text)?.[1]?.replace(/&#39;/g, "'");
      expect(intro).toBe(sentence);
    }
  });

  it('without a languageCode the auth page speaks the browser\'s language (the answer still says lang en); with one, the app\'s', async () => {
    const { languageCode: _omitted, ...unsaid } = authRequest({ requestingAppId: 'browser-lang-app' });
    const created = await postJson(`${base}/access`, unsaid);
    expect(created.body.lang).toBe('en');
    expect(new URL(String(created.body.url)).searchParams.get('lang')).toBe('');
    const french = new FormClient(base, { 'accept-language': 'fr-CH, fr;q=0.9, en;q=0.5' });
    const page = await french.get(String(created.body.url).replace(base, ''));
    expect(page.text).toContain('<html lang="fr"');
    expect(page.text).toContain('Connectez-vous pour continuer.');
    // Signed in, the consent screen keeps to it.
    await french.register('browser-lang-user');
    expect((await french.get(`/access/auth?key=${String(created.body.key)}`)).text).toContain('Autoriser');
    // An app that names its language is obeyed, whatever the browser says.
    const english = await postJson(`${base}/access`, authRequest({ requestingAppId: 'browser-lang-app', languageCode: 'en' }));
    expect((await french.get(String(english.body.url).replace(base, ''))).text).toContain('<html lang="en"');
    // Written as people write it, and reached by authUrl (no lang in it), the app's language still holds.
    const upper = await postJson(`${base}/access`, authRequest({ requestingAppId: 'browser-lang-app', languageCode: 'FR' }));
    expect((await new FormClient(base, { 'accept-language': 'en' }).get(String(upper.body.authUrl).replace(base, ''))).text).toContain('<html lang="fr"');
  });

  it('the consent screen says when an access the app asks to end (expireAfter) ends, in the page\'s language', async () => {
    const user = new FormClient(base);
    await user.register('lifetime-user');
    const cases: [number | undefined, string, string | undefined][] = [
      [7200, 'en', 'This access ends 2 hours after you accept.'],
      [86_400, 'fr', 'Cet accès prend fin 1 jour après votre accord.'],
      [90_000, 'en', 'This access ends about 1 day after you accept.'],
      [30, 'fr', 'Cet accès prend fin environ 1 minute après votre accord.'],
      [undefined, 'en', undefined],
    ];
    for (const [expireAfter, languageCode, sentence] of cases) {
      const created = await postJson(`${base}/access`, authRequest({ requestingAppId: 'lifetime-app', languageCode, ...(expireAfter ? { expireAfter } : {}) }));
      const consent = await user.get(`/access/auth?key=${String(created.body.key)}`);
      expect(consent.text).toContain('/access/auth/decide');
      const said = /<p class="muted" id="lifetime">([^<]*)<\/p>/.exec(consent.text)?.[1]?.replace(/&#39;/g, "'");
      expect(said, String(expireAfter)).toBe(sentence);
    }
  });

  it('a new user registers from the auth page and comes back to the consent screen', async () => {
    const created = await postJson(`${base}/access`, authRequest({ requestingAppId: 'newcomer-app' }));
    const visitor = new FormClient(base);
    const signIn = await visitor.get(`/access/auth?key=${String(created.body.key)}`);
    const registerLink = /href="(\/account\/register\?[^"]+)"/.exec(signIn.text)![1]!.replace(/&amp;/g, '&');
    await visitor.get(registerLink);
    const registered = await visitor.post('/account/register', { username: 'newcomer', email: 'newcomer@example.test', password: 'newcomer password', next: new URL(registerLink, base).searchParams.get('next')! });
    // Bare: the auth page picks the app's language (here none, so the browser's) again by itself.
    expect(registered.location).toBe(`/access/auth?key=${String(created.body.key)}`);
    const consent = await visitor.get(registered.location!);
    expect(consent.text).toContain('/access/auth/decide');
  });

  it('long-poll: ?wait= and Prefer: wait= answer the instant the user decides', async () => {
    const user = new FormClient(base);
    await user.register('waiter');
    for (const style of ['query', 'header'] as const) {
      const created = await postJson(`${base}/access`, authRequest({ requestingAppId: `wait-app-${style}` }));
      const started = performance.now();
      const poll = String(created.body.poll);
      const waiting = (style === 'query' ? fetch(`${poll}?wait=30`) : fetch(poll, { headers: { prefer: 'wait=30' } })).then(async (r) => ({ at: performance.now(), status: r.status, body: (await r.json()) as Record<string, unknown> }));
      await new Promise((resolve) => setTimeout(resolve, 300));
      const decidedAt = performance.now();
      await user.decide(String(created.body.key), 'accept');
      const { at, status, body } = await waiting;
      expect(status).toBe(200);
      expect(body.status).toBe('ACCEPTED');
      expect(at - started).toBeGreaterThanOrEqual(250);
      expect(at - decidedAt).toBeLessThan(2_000);
      // Asked again once decided, it answers at once instead of sitting out the wait.
      const again = performance.now();
      expect((await getJson(`${poll}?wait=5`)).body.status).toBe('ACCEPTED');
      expect(performance.now() - again).toBeLessThan(2_000);
    }
  });

  it('push: /access/:key/events streams NEED_SIGNIN, then ACCEPTED, then ends', async () => {
    const user = new FormClient(base);
    await user.register('pushed-user');
    const created = await postJson(`${base}/access`, authRequest({ requestingAppId: 'push-app-id' }));
    const response = await fetch(`${String(created.body.poll)}/events`);
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const readUntil = async (needle: string) => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) return;
        text += decoder.decode(value);
      }
    };
    await readUntil('"status":"NEED_SIGNIN"');
    await user.decide(String(created.body.key), 'accept');
    await readUntil('"status":"ACCEPTED"');
    expect(text).toContain('"username":"pushed-user"');
    expect((await reader.read()).done).toBe(true); // decided: the stream ends
    expect((await fetch(`${base}/access/AAAAAAAAAAAAAAAAAAAAAA/events`)).status).toBe(404);
  });

  it('keeps keys, tokens, passwords and session cookies out of the logs', async () => {
    const user = new FormClient(base);
    await user.register('logged-user', 'a logged password');
    const created = await postJson(`${base}/access`, authRequest({ requestingAppId: 'log-app-id', returnURL: 'https://app.example/cb?' }));
    const done = await user.decide(String(created.body.key), 'accept');
    const token = new URL(done.location!).searchParams.get('prYvtoken')!;
    await getJson(`${base}/logged-user/access-info`, { authorization: token });
    const logs = t.logs.join('');
    expect(logs).toContain('/access/:key'); // requests are logged by route pattern
    for (const secret of [String(created.body.key), token, 'a logged password', user.cookies.get('pg_session')!]) expect(logs).not.toContain(secret);
  });

  it('the consent form is refused without the CSRF token and without a session', async () => {
    const user = new FormClient(base);
    await user.register('csrf-user');
    const created = await postJson(`${base}/access`, authRequest({ requestingAppId: 'csrf-app-id' }));
    const key = String(created.body.key);
    await user.get(`/access/auth?key=${key}`);
    expect((await user.post('/access/auth/decide', { key, decision: 'accept', _csrf: 'forged-token-forged-token-forged-token-abc' })).status).toBe(403);
    const stranger = new FormClient(base);
    await stranger.get('/account/signin');
    expect((await stranger.post('/access/auth/decide', { key, decision: 'accept' })).status).toBe(401);
    expect((await getJson(String(created.body.poll))).status).toBe(201);
  });
});

describe('access door: how a permission names its stream', () => {
  // A server of its own: the API suite's registrations from one address are at their hourly limit.
  const server = useListeningApp(FAST);

  it('the consent screen shows a stream\'s id beside a name that reads differently, in each language', async () => {
    const user = new FormClient(server.base);
    await user.register('stream-reader');
    const requestedPermissions = [{ streamId: 'health', level: 'manage', name: 'Notes' }, { streamId: 'my-diary', level: 'read', defaultName: 'My Diary' }, { streamId: 'photos', level: 'read' }];
    const english = await postJson(`${server.base}/access`, authRequest({ requestingAppId: 'stream-label-app', requestedPermissions }));
    const page = (await user.get(`/access/auth?key=${String(english.body.key)}`)).text;
    expect(page).toContain('manage Notes (stream &quot;health&quot;)');
    expect(page).toContain('read My Diary<'); // the same words as its id: no id beside it
    expect(page).toContain('read photos<');
    const french = await postJson(`${server.base}/access`, authRequest({ requestingAppId: 'stream-label-app-fr', requestedPermissions, languageCode: 'fr' }));
    expect((await user.get(`/access/auth?key=${String(french.body.key)}`)).text).toMatch(/gérer Notes \(flux «\shealth\s»\)/); // French spacing: a narrow no-break space inside the quotes
  });
});

describe('access door when granting fails', () => {
  it('ends the request in ERROR (the app stops waiting) when the access cannot be stored', async () => {
    const t = await createTestApp(FAST);
    const base = await t.listen();
    try {
      const user = new FormClient(base);
      await user.register('unlucky-user');
      const created = await postJson(`${base}/access`, authRequest());
      await user.get(`/access/auth?key=${String(created.body.key)}`);
      // The store breaks between the consent screen and the click.
      await t.app.pairgate.stores.db.schema.dropTable('app_access_tokens').execute();
      const done = await user.post('/access/auth/decide', { key: String(created.body.key), decision: 'accept' });
      expect(done.status).toBe(200);
      expect(done.text).toContain('data-outcome="ERROR"');
      const polled = await getJson(String(created.body.poll));
      expect(polled.status).toBe(403);
      expect(polled.body).toMatchObject({ status: 'ERROR', id: 'internal_error', code: 403 });
      expect(JSON.stringify(polled.body)).not.toMatch(/app_access_tokens|SQLITE/i);
    } finally {
      await t.close();
    }
  });
});

describe('access door with an API URL template', () => {
  it('puts the token in the user part of the configured API URL', async () => {
    const t = await createTestApp({ ...FAST, PAIRGATE_ACCESS_API_TEMPLATE: 'https://{username}.api.example/' });
    const base = await t.listen();
    try {
      expect((await getJson(`${base}/service/info`)).body.api).toBe('https://{username}.api.example/');
      const user = new FormClient(base);
      await user.register('templated');
      const created = await postJson(`${base}/access`, authRequest());
      await user.decide(String(created.body.key), 'accept');
      const polled = (await getJson(String(created.body.poll))).body;
      expect(polled.apiEndpoint).toBe(`https://${String(polled.token)}@templated.api.example/`);
    } finally {
      await t.close();
    }
  });
});

describe('access door with a controlled clock', () => {
  const clock = new ManualClock(Date.now());
  const server = useListeningApp({ ...FAST, PAIRGATE_ACCESS_TTL_SECONDS: '600', PAIRGATE_ACCESS_DECIDED_TTL_SECONDS: '120' }, { clock });

  it('an expired key is 404 and cannot be accepted later', async () => {
    const user = new FormClient(server.base);
    await user.register('late-user');
    const created = await postJson(`${server.base}/access`, authRequest());
    const key = String(created.body.key);
    await user.get(`/access/auth?key=${key}`); // the consent screen is open...
    clock.advance(601_000); // ...while the request expires
    expect((await user.post('/access/auth/decide', { key, decision: 'accept' })).status).toBe(404);
    expect((await getJson(String(created.body.poll))).status).toBe(404);
    expect(JSON.parse((await user.get('/api/v1/accesses')).text).accesses).toHaveLength(0);
  });

  it('a decided request stays readable for a while after its first read, then is gone', async () => {
    const user = new FormClient(server.base);
    await user.register('reader-user');
    const created = await postJson(`${server.base}/access`, authRequest());
    await user.decide(String(created.body.key), 'accept');
    clock.advance(300_000); // unread decisions wait for their reader
    expect((await getJson(String(created.body.poll))).status).toBe(200);
    clock.advance(100_000);
    expect((await getJson(String(created.body.poll))).status).toBe(200);
    clock.advance(21_000);
    const gone = await getJson(String(created.body.poll));
    expect(gone.status).toBe(404);
    // The app that polls again later learns why, and what to do.
    expect(gone.body).toMatchObject({ id: 'unknown_key', message: 'This auth request does not exist or has expired (an answered one stays readable 120 s after its first read). Start a new one with POST /access.' });
  });

  it('an access with expireAfter stops working when it expires', async () => {
    const user = new FormClient(server.base);
    await user.register('expiring-user');
    const created = await postJson(`${server.base}/access`, authRequest({ expireAfter: 60 }));
    await user.decide(String(created.body.key), 'accept');
    const token = String((await getJson(String(created.body.poll))).body.token);
    const info = await getJson(`${server.base}/expiring-user/access-info`, { authorization: token });
    expect(info.status).toBe(200);
    expect(info.body.expires).toBeCloseTo(clock.now() / 1000 + 60, 0);
    clock.advance(61_000);
    expect((await getJson(`${server.base}/expiring-user/access-info`, { authorization: token })).status).toBe(401);
  });
});

describe('access door: a look-alike of a pinned app id', () => {
  const server = useListeningApp({ ...FAST, PAIRGATE_ACCESS_RETURN_ORIGINS: '{"bank-app":["https://bank.example"]}' });

  it('pinned to nothing itself, but answered at a pinned origin: delivered as the pinned app\'s, so whoever started it gets no token', async () => {
    const user = new FormClient(server.base);
    await user.register('lookalike-victim');
    // An m for the n: another app id, which reads as "bank-app" at a glance. (One with a Cyrillic а
    // is refused outright, access-pinned-host.test.ts.)
    const started = await postJson(`${server.base}/access`, authRequest({ requestingAppId: 'bamk-app', returnURL: 'https://bank.example/cb?' }));
    expect(started.status).toBe(201);
    const done = pryvParams((await user.decide(String(started.body.key), 'accept')).location!);
    expect(done.prYvtoken).toMatch(/.{20,}/);
    const polled = (await getJson(String(started.body.poll))).body;
    expect(polled).toMatchObject({ status: 'ACCEPTED' });
    expect(polled).not.toHaveProperty('token');
    expect(polled).not.toHaveProperty('username');
    expect((await getJson(done.prYvpoll!)).body).toMatchObject({ token: done.prYvtoken });
  });
});

describe('access door: an app id wholly in a script whose letters pass for Latin ones', () => {
  const server = useListeningApp(FAST);

  it('passes (apps have such names), and the consent screen says the script beside it, in each language; a Latin id gets no such note', async () => {
    const user = new FormClient(server.base);
    await user.register('script-reader');
    // All Cyrillic, reading as "paypal"; mixing it with Latin letters is refused (access-pinned-host.test.ts).
    const cyrillic = await postJson(`${server.base}/access`, authRequest({ requestingAppId: 'раураӏ-арр' }));
    expect(cyrillic.status).toBe(201);
    const page = (await user.get(`/access/auth?key=${String(cyrillic.body.key)}`)).text;
    expect(page).toMatch(/<p class="error" id="app-script" role="note">The name of this app is written in Cyrillic letters, not Latin ones/);
    const greek = await postJson(`${server.base}/access`, authRequest({ requestingAppId: 'ΑΒΕΚΜΟΡΤ', languageCode: 'fr' }));
    expect((await user.get(`/access/auth?key=${String(greek.body.key)}`)).text).toMatch(/id="app-script" role="note">Le nom de cette application est écrit en lettres grecques, pas en lettres latines/);
    const latin = await postJson(`${server.base}/access`, authRequest({ requestingAppId: 'paypal-app' }));
    expect((await user.get(`/access/auth?key=${String(latin.body.key)}`)).text).not.toContain('app-script');
  });
});
