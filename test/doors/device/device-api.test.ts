import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import type { User } from '../../../src/doors/accounts/users.js';
import { DEVICE_GRANT_TYPE } from '../../../src/doors/device/device-grant.js';
import { MAX_SCOPE_PARAMETER_LENGTH } from '../../../src/doors/device/client-rules.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { approve, authorize, createUser, deny, DEVICE_ENV, grantIdOf, INTROSPECTION_AUTH, introspect, pollToken, postForm } from './device-helpers.js';

const USER_CODE = /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/;

describe('device door OAuth endpoints (inject, manual clock)', () => {
  let t: TestApp;
  let clock: ManualClock;
  let alice: User;
  beforeAll(async () => {
    clock = new ManualClock(Date.now());
    // Limits high enough for the hostile-input sweep; the limits themselves are tested below.
    t = await createTestApp({ ...DEVICE_ENV, PAIRGATE_PUBLIC_URL: 'https://pair.example', PAIRGATE_DEVICE_AUTHORIZATIONS_PER_MINUTE: '100000', PAIRGATE_RATE_LIMIT_MAX: '100000', PAIRGATE_CODE_LOOKUPS_PER_MINUTE: '100000' }, { clock });
    alice = await createUser(t.app, 'alice-device');
  });
  afterAll(() => t.close());

  /** Moves past the poll interval (and a little more). */
  const pass = (seconds: number): void => clock.advance(seconds * 1000 + 10);

  it('publishes RFC 8414 metadata with every endpoint', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      issuer: 'https://pair.example',
      device_authorization_endpoint: 'https://pair.example/oauth/device_authorization',
      token_endpoint: 'https://pair.example/oauth/token',
      introspection_endpoint: 'https://pair.example/oauth/introspect',
      revocation_endpoint: 'https://pair.example/oauth/revoke',
      grant_types_supported: [DEVICE_GRANT_TYPE, 'refresh_token'],
      token_endpoint_auth_methods_supported: ['none'],
      introspection_endpoint_auth_methods_supported: ['bearer'],
      scopes_supported: ['read', 'write'],
    });
  });

  it('answers a device authorization with codes, URIs, expires_in and interval', async () => {
    const { status, body, headers } = await authorize(t.app);
    expect(status).toBe(200);
    expect(headers['cache-control']).toBe('no-store');
    expect(body).toMatchObject({ verification_uri: 'https://pair.example/device', expires_in: 600, interval: 5 });
    expect(String(body.user_code)).toMatch(USER_CODE);
    expect(body.verification_uri_complete).toBe(`https://pair.example/device?user_code=${String(body.user_code)}`);
    const secret = String(body.device_code).split('.')[1]!;
    expect(Buffer.from(secret, 'base64url').length * 8).toBeGreaterThanOrEqual(128);
    // Stored hashed: the grant holds neither the device code's secret nor the user code in clear.
    const grant = await t.app.pairgate.engine.get(grantIdOf(String(body.device_code)));
    expect(JSON.stringify(grant)).not.toContain(secret);
    expect(JSON.stringify(grant)).not.toContain(String(body.user_code).replace('-', ''));
    expect(grant?.request).toMatchObject({ clientId: 'tv-app', clientName: 'Living-room TV', scope: '', userAgent: 'DeviceTest/1.0' });
  });

  it('grants scopes within the client registration; no scope means all of them', async () => {
    expect((await authorize(t.app, 'cli', 'read')).status).toBe(200);
    const all = await authorize(t.app, 'cli');
    expect((await t.app.pairgate.engine.get<{ scope: string }, unknown>(grantIdOf(String(all.body.device_code))))?.request.scope).toBe('read write');
    const bad = await authorize(t.app, 'cli', 'read admin');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: 'invalid_scope' });
    expect(String(bad.body.error_description)).toContain('admin');
    // The refusal says what the client may ask for, so its developer fixes the request at once.
    expect(bad.body.error_description).toBe('This client may not ask for the scope \'admin\'. It may ask for: read write (scopes are case-sensitive), or leave scope out to get all of them.');
    expect((await authorize(t.app, 'cli', 'read "x"')).body.error).toBe('invalid_scope');
  });

  it('refuses unknown or missing clients with 401 invalid_client in the OAuth shape', async () => {
    const unknown = await authorize(t.app, 'nobody');
    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual({ error: 'invalid_client', error_description: expect.any(String) });
    const missing = await postForm(t.app, '/oauth/device_authorization', { scope: 'read' });
    expect(missing.status).toBe(401);
    expect(missing.body.error).toBe('invalid_client');
    // HTTP Basic with the client id works; a different one in the body is a 400.
    const basic = await postForm(t.app, '/oauth/device_authorization', {}, { authorization: `Basic ${Buffer.from('tv-app:').toString('base64')}` });
    expect(basic.status).toBe(200);
    const clash = await postForm(t.app, '/oauth/device_authorization', { client_id: 'cli' }, { authorization: `Basic ${Buffer.from('tv-app:').toString('base64')}` });
    expect(clash.body.error).toBe('invalid_request');
  });

  it('a 401 invalid_client to a client that came with HTTP Basic carries a Basic challenge (RFC 6749 §5.2)', async () => {
    const nobody = { authorization: `Basic ${Buffer.from('nobody:').toString('base64')}` };
    const form = { grant_type: DEVICE_GRANT_TYPE, device_code: 'abc.def' };
    // (/oauth/revoke answers an unknown token 200 whoever asks, RFC 7009 §2.2; its 401 to a Basic
    // client_id no one registered, named with a live token, is checked in 'approved: one token...' below.)
    for (const [url, fields] of [['/oauth/device_authorization', {}], ['/oauth/token', form]] as const) {
      const answer = await postForm(t.app, url, fields, nobody);
      expect(answer.status, url).toBe(401);
      expect(answer.body.error, url).toBe('invalid_client');
      expect(answer.headers['www-authenticate'], url).toBe('Basic realm="pairgate", charset="UTF-8"');
    }
    // A client named in the form only was not challenged with a scheme it did not use.
    const inForm = await authorize(t.app, 'nobody');
    expect(inForm.status).toBe(401);
    expect(inForm.headers['www-authenticate']).toBeUndefined();
    // A password: the client believes it authenticates with a secret it does not have here.
    const withSecret = await postForm(t.app, '/oauth/device_authorization', {}, { authorization: `Basic ${Buffer.from('tv-app:s3cret').toString('base64')}` });
    expect(withSecret.status).toBe(401);
    expect(withSecret.body).toMatchObject({ error: 'invalid_client', error_description: expect.stringMatching(/public and have no secret/) });
    expect(withSecret.headers['www-authenticate']).toBe('Basic realm="pairgate", charset="UTF-8"');
    // Basic credentials that are not even well-formed are a 401 with the challenge too.
    const garbled = await postForm(t.app, '/oauth/device_authorization', {}, { authorization: `Basic ${Buffer.from('%zz:').toString('base64')}` });
    expect(garbled.status).toBe(401);
    expect(garbled.headers['www-authenticate']).toBe('Basic realm="pairgate", charset="UTF-8"');
    // Another scheme at an endpoint that takes only Basic: the 401 says which one it takes.
    for (const [url, fields] of [['/oauth/device_authorization', {}], ['/oauth/token', form], ['/oauth/revoke', { token: 'x' }]] as const) {
      const bearer = await postForm(t.app, url, fields, { authorization: 'Bearer some-access-token' });
      expect(bearer.status, url).toBe(401);
      expect(bearer.body.error, url).toBe('invalid_client');
      expect(bearer.headers['www-authenticate'], url).toBe('Basic realm="pairgate", charset="UTF-8"');
    }
  });

  it('answers bad input with a clear 4xx and a stable code, never a 5xx', async () => {
    const cases: { payload: string; type: string; url: string; status: number; code: string }[] = [
      { url: '/oauth/device_authorization', type: 'application/json', payload: JSON.stringify({ client_id: { a: 1 } }), status: 400, code: 'invalid_request' },
      { url: '/oauth/device_authorization', type: 'application/json', payload: '{"client_id":', status: 400, code: 'invalid_request' },
      { url: '/oauth/device_authorization', type: 'text/plain', payload: 'client_id=tv-app', status: 415, code: 'invalid_request' },
      { url: '/oauth/device_authorization', type: 'application/x-www-form-urlencoded', payload: `client_id=tv-app&scope=${'x'.repeat(MAX_SCOPE_PARAMETER_LENGTH + 1)}`, status: 400, code: 'invalid_request' },
      { url: '/oauth/device_authorization', type: 'application/x-www-form-urlencoded', payload: `client_id=tv-app&pad=${'x'.repeat(100_000)}`, status: 413, code: 'invalid_request' },
      { url: '/oauth/token', type: 'application/x-www-form-urlencoded', payload: 'device_code=abc&client_id=tv-app', status: 400, code: 'invalid_request' },
      { url: '/oauth/token', type: 'application/x-www-form-urlencoded', payload: `grant_type=${encodeURIComponent(DEVICE_GRANT_TYPE)}&client_id=tv-app`, status: 400, code: 'invalid_request' },
      { url: '/oauth/token', type: 'application/x-www-form-urlencoded', payload: `grant_type=${encodeURIComponent(DEVICE_GRANT_TYPE)}&client_id=tv-app&device_code=${'a'.repeat(600)}`, status: 400, code: 'invalid_request' },
      { url: '/oauth/token', type: 'application/json', payload: JSON.stringify({ grant_type: DEVICE_GRANT_TYPE, client_id: 'tv-app', device_code: ['a', 'b'] }), status: 400, code: 'invalid_request' },
      { url: '/oauth/introspect', type: 'application/x-www-form-urlencoded', payload: 'token_type_hint=access_token', status: 400, code: 'invalid_request' },
      { url: '/oauth/revoke', type: 'application/x-www-form-urlencoded', payload: 'client_id=tv-app', status: 400, code: 'invalid_request' },
    ];
    for (const c of cases) {
      // Introspection is closed to callers without the secret: they are refused before validation.
      const response = await t.app.inject({ method: 'POST', url: c.url, headers: { 'content-type': c.type, ...(c.url === '/oauth/introspect' ? INTROSPECTION_AUTH : {}) }, payload: c.payload });
      expect({ url: c.url, payload: c.payload.slice(0, 60), status: response.statusCode }).toEqual({ url: c.url, payload: c.payload.slice(0, 60), status: c.status });
      expect(response.json()).toMatchObject({ error: c.code, error_description: expect.any(String) });
    }
  });

  it('hostile values in every field of every device endpoint: a 4xx, never a 5xx', async () => {
    const { body } = await authorize(t.app);
    const valid: Record<string, Record<string, unknown>> = {
      '/oauth/device_authorization': { client_id: 'tv-app', scope: 'read' },
      '/oauth/token': { grant_type: DEVICE_GRANT_TYPE, device_code: body.device_code, client_id: 'tv-app' },
      '/oauth/introspect': { token: 'x'.repeat(43) },
      '/oauth/revoke': { token: 'x'.repeat(43), client_id: 'tv-app' },
      '/device': { user_code: 'BCDF-GHJK', _csrf: 'x' },
      '/device/signin': { key: 'k', login: 'a', password: 'b', _csrf: 'x' },
      '/device/decide': { key: 'k', decision: 'approve', _csrf: 'x' },
    };
    const hostile: unknown[] = [{}, [], 12, true, null, 'x'.repeat(5000), { $ne: null }, '%00', '\u0000', '../../etc/passwd'];
    for (const [url, fields] of Object.entries(valid)) {
      for (const field of Object.keys(fields)) {
        for (const value of hostile) {
          const payload = JSON.stringify({ ...fields, [field]: value });
          const response = await t.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', ...(url === '/oauth/introspect' ? INTROSPECTION_AUTH : {}) }, payload });
          expect(response.statusCode, `${url} ${field}=${JSON.stringify(value).slice(0, 30)}`).toBeLessThan(500);
        }
      }
    }
  });

  it('token requests: unsupported_grant_type, invalid_grant for unknown, malformed or foreign codes', async () => {
    const wrongType = await postForm(t.app, '/oauth/token', { grant_type: 'authorization_code', code: 'x', client_id: 'tv-app' });
    expect(wrongType).toMatchObject({ status: 400, body: { error: 'unsupported_grant_type' } });
    const { body } = await authorize(t.app);
    const deviceCode = String(body.device_code);
    expect((await pollToken(t.app, 'not-a-device-code')).body).toEqual({ error: 'invalid_grant', error_description: 'Unknown device code.' });
    // The user code sent instead of the device code, as shown or typed, is named for what it is.
    for (const userCode of [String(body.user_code), String(body.user_code).toLowerCase().replace('-', '')]) {
      expect((await pollToken(t.app, userCode)).body).toEqual({ error: 'invalid_grant', error_description: 'This is the user code, which the person types on the verification page: send device_code, the long code of the device authorization answer.' });
    }
    const [id, secret] = deviceCode.split('.') as [string, string];
    const forged = `${id}.${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
    expect((await pollToken(t.app, forged)).body.error).toBe('invalid_grant');
    expect((await pollToken(t.app, `${'0'.repeat(12)}${'A'.repeat(22)}.${secret}`)).body.error).toBe('invalid_grant');
    const foreign = await pollToken(t.app, deviceCode, 'cli');
    expect(foreign).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect((await pollToken(t.app, deviceCode, 'nobody'))).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
  });

  it('pending: authorization_pending; faster than the interval: slow_down and the interval grows by 5 s', async () => {
    const { body } = await authorize(t.app);
    const deviceCode = String(body.device_code);
    const first = await pollToken(t.app, deviceCode);
    expect(first).toMatchObject({ status: 400, body: { error: 'authorization_pending' } });
    expect(first.headers['cache-control']).toBe('no-store');
    clock.advance(1000);
    expect((await pollToken(t.app, deviceCode)).body).toMatchObject({ error: 'slow_down', interval: 10 });
    pass(5);
    expect((await pollToken(t.app, deviceCode)).body).toMatchObject({ error: 'slow_down', interval: 15 });
    pass(15);
    expect((await pollToken(t.app, deviceCode)).body.error).toBe('authorization_pending');
    pass(10);
    expect((await pollToken(t.app, deviceCode)).body).toMatchObject({ error: 'slow_down', interval: 20 });
    pass(20);
    expect((await pollToken(t.app, deviceCode)).body.error).toBe('authorization_pending');
  });

  it('what no route answers under /oauth (a GET of the token endpoint, an unknown endpoint) is in OAuth\'s shape too, and not stored', async () => {
    for (const [method, url, status, error] of [['GET', '/oauth/token?grant_type=x', 405, 'method_not_allowed'], ['POST', '/oauth/nothing-here', 404, 'route_not_found']] as const) {
      const answer = await t.app.inject({ method, url });
      expect(answer.statusCode, url).toBe(status);
      expect(answer.json(), url).toEqual({ error: 'invalid_request', error_description: expect.any(String), pairgate_error: error });
      expect(answer.headers['cache-control'], url).toBe('no-store');
    }
  });

  it('a client registered without scopes gets a token answer without "scope" (RFC 6749 §3.3: never an empty one), and so does its introspection', async () => {
    const { body } = await authorize(t.app, 'tv-app');
    const deviceCode = String(body.device_code);
    await approve(t.app, deviceCode, alice);
    const token = await pollToken(t.app, deviceCode, 'tv-app');
    expect(token.status).toBe(200);
    expect(token.body).not.toHaveProperty('scope');
    const introspected = await introspect(t.app, String(token.body.access_token));
    expect(introspected.body).toMatchObject({ active: true, client_id: 'tv-app' });
    expect(introspected.body).not.toHaveProperty('scope');
  });

  it('approved: one token, then invalid_grant; the token is introspectable and revocable', async () => {
    const { body } = await authorize(t.app, 'cli', 'read');
    const deviceCode = String(body.device_code);
    expect((await pollToken(t.app, deviceCode, 'cli')).body.error).toBe('authorization_pending');
    await approve(t.app, deviceCode, alice);
    const token = await pollToken(t.app, deviceCode, 'cli');
    expect(token.status).toBe(200);
    expect(token.headers['cache-control']).toBe('no-store');
    expect(token.headers.pragma).toBe('no-cache');
    expect(token.body).toEqual({ access_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), token_type: 'Bearer', expires_in: 3600, scope: 'read', refresh_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    expect((await pollToken(t.app, deviceCode, 'cli')).body.error).toBe('invalid_grant');
    const accessToken = String(token.body.access_token);
    const rows = await t.app.pairgate.stores.db.selectFrom('device_access_tokens').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(accessToken);

    const introspected = await introspect(t.app, accessToken);
    expect(introspected.body).toMatchObject({ active: true, client_id: 'cli', username: 'alice-device', scope: 'read', token_type: 'Bearer' });
    // The account's id, not its name (which a new account may take once this one is deleted).
    expect(introspected.body.sub).toBe(alice.id);
    expect(alice.id).not.toBe(alice.username);
    expect(Number(introspected.body.exp) - Number(introspected.body.iat)).toBe(3600);
    expect((await introspect(t.app, 'x'.repeat(43))).body).toEqual({ active: false });

    expect(await postForm(t.app, '/oauth/revoke', { token: accessToken, client_id: 'tv-app' })).toMatchObject({ status: 400, body: { error: 'unauthorized_client' } });
    // A client_id no one registered (a typo, say) is told that, not that the token is another's;
    // named with HTTP Basic, it gets the Basic challenge (RFC 6749 §5.2).
    const unregistered = await postForm(t.app, '/oauth/revoke', { token: accessToken, client_id: 'cli-typo' });
    expect(unregistered).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(String(unregistered.body.error_description)).toContain('register the client');
    const basic = await postForm(t.app, '/oauth/revoke', { token: accessToken }, { authorization: `Basic ${Buffer.from('cli-typo:').toString('base64')}` });
    expect(basic.status).toBe(401);
    expect(basic.headers['www-authenticate']).toBe('Basic realm="pairgate", charset="UTF-8"');
    expect((await postForm(t.app, '/oauth/revoke', { token: accessToken, client_id: 'cli', token_type_hint: 'access_token' })).status).toBe(200);
    expect((await introspect(t.app, accessToken)).body).toEqual({ active: false });
    // Revoking again, or an unknown token, is still a 200, whatever client_id it names (RFC 7009
    // §2.2): an access-door app's id is no registered client, and a second logout is no error.
    expect((await postForm(t.app, '/oauth/revoke', { token: accessToken, client_id: 'cli' })).status).toBe(200);
    expect(await postForm(t.app, '/oauth/revoke', { token: accessToken, client_id: 'nobody' })).toMatchObject({ status: 200, body: {} });
    expect(await postForm(t.app, '/oauth/revoke', { token: 'whatever', client_id: 'nobody' })).toMatchObject({ status: 200, body: {} });
  });

  it('tokens expire after their lifetime', async () => {
    const { body } = await authorize(t.app);
    await approve(t.app, String(body.device_code), alice);
    const accessToken = String((await pollToken(t.app, String(body.device_code))).body.access_token);
    expect((await introspect(t.app, accessToken)).body.active).toBe(true);
    clock.advance(3600_000);
    expect((await introspect(t.app, accessToken)).body).toEqual({ active: false });
  });

  it('denied: access_denied on every poll', async () => {
    const { body } = await authorize(t.app);
    await deny(t.app, String(body.device_code), alice);
    expect(await pollToken(t.app, String(body.device_code))).toMatchObject({ status: 400, body: { error: 'access_denied' } });
    pass(5);
    expect((await pollToken(t.app, String(body.device_code))).body.error).toBe('access_denied');
  });

  it('expired: expired_token, also once the grant is swept; approval is then impossible', async () => {
    const { body } = await authorize(t.app);
    const deviceCode = String(body.device_code);
    clock.advance(600_000);
    expect(await pollToken(t.app, deviceCode)).toMatchObject({ status: 400, body: { error: 'expired_token' } });
    await t.app.pairgate.engine.sweep();
    expect((await pollToken(t.app, deviceCode)).body.error).toBe('expired_token');
    // ...but only for the client it was issued to.
    expect((await pollToken(t.app, deviceCode, 'cli')).body.error).toBe('invalid_grant');
    await expect(approve(t.app, deviceCode, alice)).rejects.toThrow();
  });

  it('an account deleted between approval and the token request: access_denied, no token', async () => {
    const { body } = await authorize(t.app);
    const doomed = await createUser(t.app, 'doomed-device');
    await approve(t.app, String(body.device_code), doomed);
    await t.app.pairgate.stores.db.deleteFrom('users').where('id', '=', doomed.id).execute();
    expect(await pollToken(t.app, String(body.device_code))).toMatchObject({ status: 400, body: { error: 'access_denied' } });
  });

  it('50 concurrent token requests after approval: exactly one access token', async () => {
    const { body } = await authorize(t.app);
    const deviceCode = String(body.device_code);
    await approve(t.app, deviceCode, alice);
    const answers = await Promise.all(Array.from({ length: 50 }, () => pollToken(t.app, deviceCode)));
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    expect(answers.filter((answer) => answer.status !== 200).every((answer) => answer.status === 400 && answer.body.error === 'invalid_grant')).toBe(true);
    const rows = await t.app.pairgate.stores.db.selectFrom('device_access_tokens').selectAll().where('grant_id', '=', grantIdOf(deviceCode)).execute();
    expect(rows).toHaveLength(1);
  });

  it('lists its routes in the OpenAPI document and counts its grants in the metrics', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, unknown> };
    for (const path of ['/.well-known/oauth-authorization-server', '/oauth/device_authorization', '/oauth/token', '/oauth/introspect', '/oauth/revoke', '/device', '/device/consent', '/device/signin', '/device/decide']) expect(Object.keys(doc.paths)).toContain(path);
    // The OAuth endpoints take forms, as the RFCs send them (and JSON).
    for (const path of ['/oauth/device_authorization', '/oauth/token', '/oauth/introspect', '/oauth/revoke']) {
      const body = (doc.paths[path] as { post: { requestBody: { content: Record<string, unknown> } } }).post.requestBody;
      expect(Object.keys(body.content)).toEqual(['application/x-www-form-urlencoded', 'application/json']);
    }
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/pairgate_grants_total\{door="device",event="created"\} \d+/);
  });

  it('keeps device and user codes out of the logs', async () => {
    const { body } = await authorize(t.app);
    await pollToken(t.app, String(body.device_code));
    const logs = t.logs.join('');
    expect(logs).not.toContain(String(body.device_code).split('.')[1]);
    expect(logs).not.toContain(String(body.user_code));
  });
});

describe('device door limits', () => {
  let t: TestApp;
  let third = '';
  beforeAll(async () => {
    t = await createTestApp({ ...DEVICE_ENV, PAIRGATE_DEVICE_AUTHORIZATIONS_PER_MINUTE: '2', PAIRGATE_DEVICE_MAX_PENDING: '3' });
  });
  afterAll(() => t.close());

  it('device authorizations per address are limited: 429 rate_limited with Retry-After, in the OAuth shape', async () => {
    expect((await authorize(t.app)).status).toBe(200);
    expect((await authorize(t.app)).status).toBe(200);
    const limited = await authorize(t.app);
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ error: 'rate_limited', error_description: expect.any(String) });
    expect(String(limited.headers['retry-after'])).toMatch(/^\d+$/);
  });

  it('beyond PAIRGATE_DEVICE_MAX_PENDING waiting authorizations, new ones get 429', async () => {
    // Two are waiting from the test above; a third, then a request from another address (whose
    // per-address limit is untouched), so the count of waiting authorizations is what stops it.
    third = (await t.app.pairgate.engine.create({ kind: 'device', request: {}, ttlMs: 60_000 })).grant.id;
    const response = await t.app.inject({ method: 'POST', url: '/oauth/device_authorization', remoteAddress: '10.0.0.8', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'client_id=tv-app' });
    expect(response.statusCode).toBe(429);
    expect(response.json()).toMatchObject({ error: 'rate_limited' });
    expect(response.headers['retry-after']).toBe('30');
  });

  it('an authorization decided no longer counts as waiting (its user code is spent), once the count is read again', async () => {
    await t.app.pairgate.engine.refuse(third);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const response = await t.app.inject({ method: 'POST', url: '/oauth/device_authorization', remoteAddress: '10.0.0.9', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'client_id=tv-app' });
    expect(response.statusCode).toBe(200);
  });
});
