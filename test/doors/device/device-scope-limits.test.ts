import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_CLIENT_SCOPES, MAX_SCOPE_PARAMETER_LENGTH, SCOPE_TOKEN_MAX } from '../../../src/doors/device/client-rules.js';
import { parseDeviceClients } from '../../../src/doors/device/clients.js';
import { DEVICE_GRANT_TYPE } from '../../../src/doors/device/device-grant.js';
import type { User } from '../../../src/doors/accounts/users.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { approve, createUser, INTROSPECTION_AUTH, INTROSPECTION_SECRET } from './device-helpers.js';

/** `count` distinct scope tokens of the longest length. */
const scopes = (count: number, prefix = 's'): string[] => Array.from({ length: count }, (_, i) => `${prefix}${i}`.padEnd(SCOPE_TOKEN_MAX, 'x'));

describe('device door: a request may ask for as many scopes as a client may be registered with', () => {
  let t: TestApp;
  let alice: User;
  const wide = scopes(MAX_CLIENT_SCOPES);
  beforeAll(async () => {
    t = await createTestApp({
      PAIRGATE_SCRYPT_COST: '10',
      PAIRGATE_DEVICE_CLIENTS: JSON.stringify({ wide: { name: 'Wide', scopes: wide }, open: 'Any scope' }),
      PAIRGATE_DEVICE_INTROSPECTION_SECRET: INTROSPECTION_SECRET,
      PAIRGATE_RATE_LIMIT_MAX: '100000',
      PAIRGATE_DEVICE_AUTHORIZATIONS_PER_MINUTE: '1000',
    });
    await t.listen();
    alice = await createUser(t.app, 'alice-scopes');
  });
  afterAll(() => t.close());

  const post = async (path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> => {
    const response = await fetch(`${t.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(fields).toString() });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('the shared limits fit together', () => {
    expect(MAX_SCOPE_PARAMETER_LENGTH).toBeGreaterThanOrEqual(wide.join(' ').length);
    expect(() => parseDeviceClients(JSON.stringify({ c: { name: 'C', scopes: scopes(MAX_CLIENT_SCOPES + 1) } }))).toThrow(/at most 100 scope tokens/);
  });

  it('a client registered with the most scopes (each at the longest) asks for all of them and gets a token carrying them', async () => {
    const started = await post('/oauth/device_authorization', { client_id: 'wide', scope: wide.join(' ') });
    expect(started.status).toBe(200);
    const deviceCode = String(started.body.device_code);
    await approve(t.app, deviceCode, alice);
    const token = await post('/oauth/token', { grant_type: DEVICE_GRANT_TYPE, client_id: 'wide', device_code: deviceCode });
    expect(token.status).toBe(200);
    expect(String(token.body.scope).split(' ')).toEqual(wide);
    const introspected = await post('/oauth/introspect', { token: String(token.body.access_token) }, INTROSPECTION_AUTH);
    expect(introspected.body).toMatchObject({ active: true, client_id: 'wide', scope: wide.join(' ') });
  });

  it('asking for none gets all of them too', async () => {
    const started = await post('/oauth/device_authorization', { client_id: 'wide' });
    expect(started.status).toBe(200);
  });

  it('a client without a list: the most scopes are accepted, one more is invalid_scope (counted once each, duplicates aside)', async () => {
    expect((await post('/oauth/device_authorization', { client_id: 'open', scope: scopes(MAX_CLIENT_SCOPES, 'o').join(' ') })).status).toBe(200);
    const withDuplicates = [...scopes(MAX_CLIENT_SCOPES, 'd').slice(0, 50), ...scopes(MAX_CLIENT_SCOPES, 'd').slice(0, 40)].map((s) => s.slice(0, 20));
    expect((await post('/oauth/device_authorization', { client_id: 'open', scope: withDuplicates.join(' ') })).status).toBe(200);
    const tooMany = await post('/oauth/device_authorization', { client_id: 'open', scope: scopes(MAX_CLIENT_SCOPES + 1, 'o').map((s) => s.slice(0, 20)).join(' ') });
    expect(tooMany).toEqual({ status: 400, body: { error: 'invalid_scope', error_description: `At most ${MAX_CLIENT_SCOPES} scopes may be asked for.` } });
  });

  it('a scope parameter longer than the largest registration can need is invalid_request', async () => {
    const tooLong = await post('/oauth/device_authorization', { client_id: 'open', scope: 'a'.repeat(MAX_SCOPE_PARAMETER_LENGTH + 1) });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body).toMatchObject({ error: 'invalid_request' });
  });
});
