import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { User } from '../../../src/doors/accounts/users.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { ADMIN_TOKEN, adminCall, approve, authorize, connectDevice, createUser, DEVICE_ENV, grantIdOf, INTROSPECTION_SECRET, isActive, pollToken, postForm, refreshToken } from './device-helpers.js';

const ACCESS_INTROSPECTION_SECRET = 'access-door-introspection-secret-0123456789';

/** The same text with the last character changed to another of its alphabet. */
const lastCharChanged = (text: string): string => `${text.slice(0, -1)}${text.endsWith('A') ? 'B' : 'A'}`;

/**
 * Forged and misplaced credentials at the device door: device codes put together from two grants
 * or taken from another kind of grant, each kind of token presented as another, client secrets
 * where clients have none, and near misses of the bearer secrets (inject, SQLite).
 */
describe('device door: forged and misplaced credentials', () => {
  let t: TestApp;
  let base: string;
  let alice: User;

  beforeAll(async () => {
    t = await createTestApp({
      ...DEVICE_ENV,
      PAIRGATE_DEVICE_ADMIN_TOKEN: ADMIN_TOKEN,
      PAIRGATE_ACCESS_INTROSPECTION_SECRET: ACCESS_INTROSPECTION_SECRET,
      PAIRGATE_RATE_LIMIT_MAX: '100000',
      PAIRGATE_DEVICE_TOKEN_REQUESTS_PER_MINUTE: '100000',
      PAIRGATE_DEVICE_AUTHORIZATIONS_PER_MINUTE: '100000',
    });
    base = await t.listen();
    alice = await createUser(t.app, 'alice-forgery');
  });
  afterAll(() => t.close());

  it('a device code made of one authorization\'s id and another\'s secret opens neither, and spends neither', async () => {
    const waiting = String((await authorize(t.app)).body.device_code);
    const approved = String((await authorize(t.app)).body.device_code);
    await approve(t.app, approved, alice);
    const [waitingId, waitingSecret] = waiting.split('.') as [string, string];
    const [approvedId, approvedSecret] = approved.split('.') as [string, string];
    for (const forged of [`${waitingId}.${approvedSecret}`, `${approvedId}.${waitingSecret}`, `${approvedId}.${lastCharChanged(approvedSecret)}`, `${approvedId}.${approvedSecret.toLowerCase()}`]) {
      expect(await pollToken(t.app, forged), forged).toMatchObject({ status: 400, body: { error: 'invalid_grant', error_description: 'Unknown device code.' } });
    }
    // Both still work as issued: the forgeries spent nothing.
    expect((await pollToken(t.app, waiting)).body.error).toBe('authorization_pending');
    expect((await pollToken(t.app, approved)).status).toBe(200);
  });

  it('another kind of grant\'s id and secret, approved, is no device code', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/grants', payload: { label: 'not a device' } });
    expect(created.statusCode).toBe(201);
    const { id, secret } = created.json() as { id: string; secret: string };
    await t.app.pairgate.engine.approve(id, { status: 'approved', userId: alice.id, username: alice.username });
    expect(await pollToken(t.app, `${id}.${secret}`)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    // It is still its own door's to redeem.
    expect((await t.app.inject({ method: 'POST', url: `/api/v1/grants/${id}/redeem`, payload: { secret } })).statusCode).toBe(200);
  });

  it('each kind of token presented as another is refused, and the real ones are left working', async () => {
    const connected = await connectDevice(t.app, alice, 'cli', 'read');
    const access = String(connected.body.access_token);
    const refresh = String(connected.body.refresh_token);
    const spentCode = String((await authorize(t.app, 'cli', 'read')).body.device_code);
    // An access token, or a device code, as a refresh token: unknown, not a reuse (the family is not ended).
    for (const notRefresh of [access, spentCode]) {
      expect(await refreshToken(t.app, notRefresh, 'cli'), notRefresh).toMatchObject({ status: 400, body: { error: 'invalid_grant', error_description: 'Unknown refresh token.' } });
    }
    // Tokens as device codes.
    for (const notCode of [access, refresh]) expect((await pollToken(t.app, notCode, 'cli')).body.error, notCode).toBe('invalid_grant');
    // A refresh token opens nothing at a resource server.
    expect(await isActive(t.app, refresh)).toBe(false);
    // A refresh token with one character changed is another token, however base64 reads it.
    expect((await refreshToken(t.app, lastCharChanged(refresh), 'cli')).body.error_description).toBe('Unknown refresh token.');
    expect(await isActive(t.app, lastCharChanged(access))).toBe(false);
    // Nothing was spent nor revoked by all that.
    expect(await isActive(t.app, access)).toBe(true);
    expect((await refreshToken(t.app, refresh, 'cli')).status).toBe(200);
  });

  it('clients are public: a client secret, in Basic or in the form, authenticates nothing and is refused', async () => {
    const device = String((await authorize(t.app)).body.device_code);
    const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
    const withPassword = await postForm(t.app, '/oauth/token', { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: device }, basic('tv-app', 'guessed-secret'));
    expect(withPassword).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    // Basic naming one client and the form another.
    const mixed = await postForm(t.app, '/oauth/token', { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: device, client_id: 'cli' }, basic('tv-app', ''));
    expect(mixed).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    // A client_secret in the form is refused as in Basic (device-client-credentials.test.ts), and
    // spends nothing: the device code is still the client's, pending.
    const formSecret = await postForm(t.app, '/oauth/token', { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: device, client_id: 'tv-app', client_secret: 'anything' });
    expect(formSecret).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect((await pollToken(t.app, device)).body.error).toBe('authorization_pending');
  });

  it('introspection takes its own secret exactly: not a prefix, a longer one, another case, the access door\'s secret, Basic, nor an empty one', async () => {
    const { access_token: token } = (await connectDevice(t.app, alice)).body;
    const introspectWith = (authorization: string) => postForm(t.app, '/oauth/introspect', { token: String(token) }, { authorization });
    for (const wrong of [
      `Bearer ${INTROSPECTION_SECRET.slice(0, -1)}`,
      `Bearer ${INTROSPECTION_SECRET}x`,
      `Bearer ${INTROSPECTION_SECRET.toUpperCase()}`,
      `Bearer ${ACCESS_INTROSPECTION_SECRET}`,
      `Basic ${Buffer.from(`tv-app:${INTROSPECTION_SECRET}`).toString('base64')}`,
      `Bearer`,
      `${INTROSPECTION_SECRET}`,
    ]) {
      const answer = await introspectWith(wrong);
      expect(answer.status, wrong).toBe(401);
      expect(answer.body.active, wrong).toBeUndefined();
    }
    // The scheme's case does not matter (RFC 7235 §2.1); the secret's does.
    expect((await introspectWith(`bearer ${INTROSPECTION_SECRET}`)).body.active).toBe(true);
  });

  it('the client admin API takes its token exactly: a prefix or a longer one is a wrong token', async () => {
    for (const wrong of [ADMIN_TOKEN.slice(0, -1), `${ADMIN_TOKEN}x`, ADMIN_TOKEN.toUpperCase(), INTROSPECTION_SECRET]) {
      const answer = await adminCall(base, 'GET', '', undefined, wrong);
      expect(answer.status, wrong).toBe(401);
      expect(answer.body.error, wrong).toBe('device_admin_unauthorized');
    }
    expect((await adminCall(base, 'GET', '')).status).toBe(200);
  });

  it('a device code redeemed once is spent for every later caller, whichever client or code spelling it comes with', async () => {
    const device = String((await authorize(t.app)).body.device_code);
    await approve(t.app, device, alice);
    expect((await pollToken(t.app, device)).status).toBe(200);
    expect(await pollToken(t.app, device)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect((await pollToken(t.app, device, 'cli')).body.error).toBe('invalid_grant');
    expect((await pollToken(t.app, `${grantIdOf(device)}.${lastCharChanged(device.split('.')[1]!)}`)).body.error).toBe('invalid_grant');
  });
});
