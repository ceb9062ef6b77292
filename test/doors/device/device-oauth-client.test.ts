import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { authRequest, FormClient, getJson, postJson } from '../access/form-client.js';
import { approve, createUser, DEVICE_ENV } from './device-helpers.js';

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

    const introspect = async (token: string) => oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, none, token, insecure));
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
    const introspect = async (token: string) => oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, none, token, insecure));
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
    const introspected = await oauth.processIntrospectionResponse(as, appClient, await oauth.introspectionRequest(as, appClient, none, token, insecure));
    expect(introspected).toMatchObject({ active: true, client_id: 'test-app-id', username: 'oauth-owner' });
    // Only the app it was issued to may revoke it.
    expect(await oauthErrorOf(oauth.revocationRequest(as, client, none, token, insecure).then((response) => oauth.processRevocationResponse(response)))).toMatchObject({ error: 'unauthorized_client' });
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, appClient, none, token, insecure));
    expect(await oauth.processIntrospectionResponse(as, appClient, await oauth.introspectionRequest(as, appClient, none, token, insecure))).toEqual({ active: false });
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
    expect(refused.headers.get('www-authenticate')).toContain('Bearer');
    expect(((await refused.json()) as Record<string, unknown>).error).toBe('invalid_client');
    const wrong = await form('/oauth/introspect', { token: 'x'.repeat(43) }, { authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
    const allowed = await form('/oauth/introspect', { token: 'x'.repeat(43) }, { authorization: 'Bearer resource-server-secret' });
    expect(await allowed.json()).toEqual({ active: false });
    const metadata = await getJson(`${base}/.well-known/oauth-authorization-server`);
    expect(metadata.body.introspection_endpoint_auth_methods_supported).toEqual(['bearer']);
  });
});
