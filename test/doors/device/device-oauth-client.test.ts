import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { authRequest, FormClient, getJson, postJson } from '../access/form-client.js';
import { approve, createUser, DEVICE_ENV, INTROSPECTION_SECRET } from './device-helpers.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The OAuth error a stock client reads from an answer, or undefined when it is a success. */
async function oauthErrorOf(promise: Promise<unknown>): Promise<{ error: string; status: number; cause: Record<string, unknown> } | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    if (error instanceof oauth.ResponseBodyError) return { error: error.error, status: error.status, cause: error.cause };
    throw error;
  }
}

describe('a stock OAuth client (oauth4webapi) against the device door over a real socket', () => {
  let t: TestApp;
  let base: string;
  const password = 'correct horse battery';
  beforeAll(async () => {
    t = await createTestApp({ ...DEVICE_ENV, PAIRGATE_DEVICE_INTERVAL_SECONDS: '1' });
    base = await t.listen();
    await new FormClient(base).register('oauth-owner', password);
  });
  afterAll(() => t.close());

  const client: oauth.Client = { client_id: 'cli' };
  const none = oauth.None();
  const insecure = { [oauth.allowInsecureRequests]: true };
  /**
   * How a resource server authenticates to introspection with oauth4webapi: the introspection secret
   * as a Bearer token (device clients are public: their client_id authenticates nothing).
   */
  const resourceServer: oauth.ClientAuth = (_as, _client, _body, headers) => headers.set('authorization', `Bearer ${INTROSPECTION_SECRET}`);

  const discover = async (): Promise<oauth.AuthorizationServer> => {
    const issuer = new URL(base);
    return oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
  };

  /** Approves on the pages, as the person would (code, sign in, consent, approve). */
  const approveOnPages = async (userCode: string): Promise<void> => {
    const browser = new FormClient(base);
    await browser.get('/device');
    const typed = await browser.post('/device', { user_code: userCode });
    const signin = await browser.get(typed.location!);
    const key = /name="key" value="([^"]+)"/.exec(signin.text)![1]!;
    const signedIn = await browser.post('/device/signin', { key, login: 'oauth-owner', password });
    await browser.get(signedIn.location!);
    const done = await browser.post('/device/decide', { key, decision: 'approve' });
    expect(done.text).toContain('data-outcome="approved"');
  };

  it('discovery -> device authorization -> polling -> approval -> token -> introspection -> revocation', async () => {
    const as = await discover();
    expect(as.issuer).toBe(base);
    expect(as.device_authorization_endpoint).toBe(`${base}/oauth/device_authorization`);

    const authorization = await oauth.processDeviceAuthorizationResponse(as, client, await oauth.deviceAuthorizationRequest(as, client, none, { scope: 'read' }, insecure));
    expect(authorization.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    expect(authorization.interval).toBe(1);
    expect(authorization.expires_in).toBe(600);

    const poll = async () => oauth.processDeviceCodeResponse(as, client, await oauth.deviceCodeGrantRequest(as, client, none, authorization.device_code, insecure));
    expect(await oauthErrorOf(poll())).toMatchObject({ error: 'authorization_pending', status: 400 });

    await approveOnPages(authorization.user_code);
    await sleep(authorization.interval! * 1000);
    const tokens = await poll();
    expect(tokens).toMatchObject({ token_type: 'bearer', expires_in: 3600, scope: 'read' });
    expect(tokens.access_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The device code works once.
    await sleep(authorization.interval! * 1000);
    expect(await oauthErrorOf(poll())).toMatchObject({ error: 'invalid_grant' });

    const introspect = async (token: string) => oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, resourceServer, token, insecure));
    expect(await introspect(tokens.access_token)).toMatchObject({ active: true, client_id: 'cli', username: 'oauth-owner', scope: 'read', token_type: 'Bearer' });

    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, none, tokens.access_token, insecure));
    expect(await introspect(tokens.access_token)).toEqual({ active: false });
  });

  it('refreshes with refreshTokenGrantRequest: a rotated refresh token each time, the spent one refused, and revoking one ends the device', async () => {
    const as = await discover();
    expect(as.grant_types_supported).toEqual(['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token']);
    const authorization = await oauth.processDeviceAuthorizationResponse(as, client, await oauth.deviceAuthorizationRequest(as, client, none, { scope: 'read write' }, insecure));
    await approveOnPages(authorization.user_code);
    const tokens = await oauth.processDeviceCodeResponse(as, client, await oauth.deviceCodeGrantRequest(as, client, none, authorization.device_code, insecure));
    expect(tokens.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const refresh = async (refreshToken: string, parameters?: Record<string, string>) =>
      oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, none, refreshToken, { ...insecure, ...(parameters ? { additionalParameters: parameters } : {}) }));
    const introspect = async (token: string) => oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, resourceServer, token, insecure));
    const refreshed = await refresh(tokens.refresh_token!, { scope: 'read' });
    expect(refreshed).toMatchObject({ token_type: 'bearer', expires_in: 3600, scope: 'read' });
    expect(refreshed.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect(await introspect(refreshed.access_token)).toMatchObject({ active: true, client_id: 'cli', username: 'oauth-owner', scope: 'read' });
    const again = await refresh(refreshed.refresh_token!);
    expect(again.scope).toBe('read write');

    // Revoking the newest refresh token ends every token of the device.
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, none, again.refresh_token!, { ...insecure, additionalParameters: { token_type_hint: 'refresh_token' } }));
    for (const token of [tokens.access_token, refreshed.access_token, again.access_token]) expect(await introspect(token)).toEqual({ active: false });
    expect(await oauthErrorOf(refresh(again.refresh_token!))).toMatchObject({ error: 'invalid_grant', status: 400 });
    // A spent one is refused the same way.
    expect(await oauthErrorOf(refresh(tokens.refresh_token!))).toMatchObject({ error: 'invalid_grant', status: 400 });
  });

  it('a client polling faster than the interval is told slow_down with the grown interval', async () => {
    const as = await discover();
    const authorization = await oauth.processDeviceAuthorizationResponse(as, client, await oauth.deviceAuthorizationRequest(as, client, none, {}, insecure));
    const poll = async () => oauth.processDeviceCodeResponse(as, client, await oauth.deviceCodeGrantRequest(as, client, none, authorization.device_code, insecure));
    expect((await oauthErrorOf(poll()))?.error).toBe('authorization_pending');
    const fast = await oauthErrorOf(poll());
    expect(fast).toMatchObject({ error: 'slow_down', status: 400, cause: { interval: 6 } });
  });

  it('an unknown client is refused at device authorization with invalid_client', async () => {
    const as = await discover();
    const unknown: oauth.Client = { client_id: 'stranger' };
    expect(await oauthErrorOf(oauth.deviceAuthorizationRequest(as, unknown, none, {}, insecure).then((response) => oauth.processDeviceAuthorizationResponse(as, unknown, response)))).toMatchObject({ error: 'invalid_client', status: 401 });
  });

  it('introspects and revokes access tokens of the access door as well', async () => {
    const as = await discover();
    const appClient: oauth.Client = { client_id: 'test-app-id' };
    const created = await postJson(`${base}/access`, authRequest());
    const browser = new FormClient(base);
    await browser.signIn('oauth-owner', password);
    await browser.decide(String(created.body.key), 'accept');
    const token = String((await getJson(String(created.body.poll))).body.token);
    const introspected = await oauth.processIntrospectionResponse(as, appClient, await oauth.introspectionRequest(as, appClient, resourceServer, token, insecure));
    expect(introspected).toMatchObject({ active: true, client_id: 'test-app-id', username: 'oauth-owner' });
    // Only the app it was issued to may revoke it.
    expect(await oauthErrorOf(oauth.revocationRequest(as, client, none, token, insecure).then((response) => oauth.processRevocationResponse(response)))).toMatchObject({ error: 'unauthorized_client' });
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, appClient, none, token, insecure));
    expect(await oauth.processIntrospectionResponse(as, appClient, await oauth.introspectionRequest(as, appClient, resourceServer, token, insecure))).toEqual({ active: false });
  });
});

describe('device door long-poll (PAIRGATE_DEVICE_LONG_POLL)', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp({ ...DEVICE_ENV, PAIRGATE_DEVICE_LONG_POLL: 'true', PAIRGATE_DEVICE_INTROSPECTION_SECRET: 'resource-server-secret' });
    base = await t.listen();
  });
  afterAll(() => t.close());

  const form = (path: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(fields) });

  it('a held token request answers within milliseconds of the approval', async () => {
    const device = (await (await form('/oauth/device_authorization', { client_id: 'tv-app' })).json()) as { device_code: string };
    const started = Date.now();
    const held = form('/oauth/token', { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: device.device_code, client_id: 'tv-app' });
    await sleep(300);
    const user = await createUser(t.app, 'long-poller');
    const approvedAt = Date.now();
    await approve(t.app, device.device_code, user);
    const response = await held;
    const answeredAt = Date.now();
    expect(response.status).toBe(200);
    expect(((await response.json()) as Record<string, unknown>).token_type).toBe('Bearer');
    expect(approvedAt - started).toBeGreaterThanOrEqual(300);
    expect(answeredAt - approvedAt).toBeLessThan(500);
  });

  it('Prefer: wait=<s> shortens the hold; nothing decided means authorization_pending', async () => {
    const device = (await (await form('/oauth/device_authorization', { client_id: 'tv-app' })).json()) as { device_code: string };
    const started = Date.now();
    const response = await form('/oauth/token', { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: device.device_code, client_id: 'tv-app' }, { prefer: 'wait=1' });
    expect(response.status).toBe(400);
    expect(((await response.json()) as Record<string, unknown>).error).toBe('authorization_pending');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('introspection asks for the configured Bearer secret', async () => {
    const refused = await form('/oauth/introspect', { token: 'x'.repeat(43) });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe('Bearer realm="pairgate-introspection"');
    expect(refused.headers.get('cache-control')).toBe('no-store');
    expect(await refused.json()).toMatchObject({ error: 'invalid_client', pairgate_error: 'introspection_unauthorized', error_description: expect.stringContaining('PAIRGATE_DEVICE_INTROSPECTION_SECRET') });
    for (const authorization of ['Bearer nope', 'Bearer resource-server-secretx', 'Bearer Resource-server-secret', 'bearer  resource-server-secre', 'Basic cmVzb3VyY2Utc2VydmVyLXNlY3JldA==', 'resource-server-secret']) {
      const wrong = await form('/oauth/introspect', { token: 'x'.repeat(43) }, { authorization });
      expect(wrong.status, authorization).toBe(401);
      expect(wrong.headers.get('www-authenticate')).toBe('Bearer realm="pairgate-introspection", error="invalid_token"');
      expect(await wrong.json()).toMatchObject({ error: 'invalid_client', pairgate_error: 'introspection_unauthorized' });
    }
    const allowed = await form('/oauth/introspect', { token: 'x'.repeat(43) }, { authorization: 'Bearer resource-server-secret' });
    expect(await allowed.json()).toEqual({ active: false });
    // The scheme is case-insensitive (RFC 9110 §11.1).
    expect((await form('/oauth/introspect', { token: 'x'.repeat(43) }, { authorization: 'bearer resource-server-secret' })).status).toBe(200);
    const metadata = await getJson(`${base}/.well-known/oauth-authorization-server`);
    expect(metadata.body.introspection_endpoint_auth_methods_supported).toEqual(['bearer']);
  });

  it('a public client cannot introspect with its client credentials, even a live token of its own', async () => {
    const device = (await (await form('/oauth/device_authorization', { client_id: 'cli', scope: 'read' })).json()) as { device_code: string };
    await approve(t.app, device.device_code, await createUser(t.app, 'public-introspector'));
    const issued = (await (await form('/oauth/token', { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: device.device_code, client_id: 'cli' })).json()) as { access_token: string };
    const basic = `Basic ${Buffer.from('cli:anything').toString('base64')}`;
    for (const [fields, headers] of [[{ client_id: 'cli' }, {}], [{}, { authorization: basic }], [{ client_id: 'cli' }, { authorization: basic }]] as const) {
      const answer = await form('/oauth/introspect', { token: issued.access_token, ...fields }, headers);
      expect(answer.status).toBe(401);
      expect(await answer.json()).toMatchObject({ error: 'invalid_client', pairgate_error: 'introspection_unauthorized' });
    }
    const allowed = await form('/oauth/introspect', { token: issued.access_token }, { authorization: 'Bearer resource-server-secret' });
    expect(await allowed.json()).toMatchObject({ active: true, client_id: 'cli', username: 'public-introspector' });
  });
});

describe('device door introspection without PAIRGATE_DEVICE_INTROSPECTION_SECRET: closed', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_SCRYPT_COST: '10', PAIRGATE_DEVICE_CLIENTS: DEVICE_ENV.PAIRGATE_DEVICE_CLIENTS });
    base = await t.listen();
  });
  afterAll(() => t.close());

  const form = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(`${base}/oauth/introspect`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(fields) });

  it('refuses everyone, a live token included, with 401 and a message naming the setting', async () => {
    const device = (await (await fetch(`${base}/oauth/device_authorization`, { method: 'POST', body: new URLSearchParams({ client_id: 'tv-app' }) })).json()) as { device_code: string };
    await approve(t.app, device.device_code, await createUser(t.app, 'closed-introspection'));
    const issued = (await (await fetch(`${base}/oauth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: device.device_code, client_id: 'tv-app' }) })).json()) as { access_token: string };
    expect(issued.access_token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const refused = await form({ token: issued.access_token });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe('Bearer realm="pairgate-introspection"');
    const body = (await refused.json()) as Record<string, unknown>;
    expect(body).toEqual({ error: 'invalid_client', pairgate_error: 'introspection_not_configured', error_description: expect.stringContaining('PAIRGATE_DEVICE_INTROSPECTION_SECRET') });
    expect(JSON.stringify(body)).not.toContain('active');
    // Whatever is presented: a guess at a secret, a public client's Basic credentials, or nothing valid in the body.
    for (const [fields, headers] of [
      [{ token: issued.access_token }, { authorization: 'Bearer ' }],
      [{ token: issued.access_token }, { authorization: 'Bearer anything' }],
      [{ token: issued.access_token, client_id: 'tv-app' }, { authorization: `Basic ${Buffer.from('tv-app:').toString('base64')}` }],
      [{ token_type_hint: 'access_token' }, {}],
    ] as const) {
      const answer = await form(fields, headers);
      expect(answer.status).toBe(401);
      expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer realm="pairgate-introspection"/);
      expect(await answer.json()).toMatchObject({ error: 'invalid_client', pairgate_error: 'introspection_not_configured' });
    }
    const metadata = await getJson(`${base}/.well-known/oauth-authorization-server`);
    expect(metadata.body.introspection_endpoint_auth_methods_supported).toEqual([]);
  });

  it('so does the access door\'s /access/introspect without PAIRGATE_ACCESS_INTROSPECTION_SECRET', async () => {
    const refused = await form({ token: 'x'.repeat(43) });
    expect(refused.status).toBe(401);
    const access = await fetch(`${base}/access/introspect`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: 'x'.repeat(43) }) });
    expect(access.status).toBe(401);
    expect(access.headers.get('www-authenticate')).toBe('Bearer realm="pairgate-introspection"');
    expect(await access.json()).toMatchObject({ error: 'introspection_not_configured', message: expect.stringContaining('PAIRGATE_ACCESS_INTROSPECTION_SECRET') });
  });
});
