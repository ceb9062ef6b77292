import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { hashToken } from '../../../src/core/ids.js';
import { UserStore, type User } from '../../../src/doors/accounts/users.js';
import { DEVICE_GRANT_TYPE } from '../../../src/doors/device/device-grant.js';
import { DeviceTokens } from '../../../src/doors/device/device-tokens.js';
import { allDoors } from '../../../src/doors/index.js';
import { loadConfig } from '../../../src/server/config.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { FormClient } from '../access/form-client.js';
import { ADMIN_TOKEN, adminCall, authorize, connectDevice, createUser, DEVICE_ENV, grantIdOf, introspect, isActive, pollToken, postForm, refreshToken } from './device-helpers.js';

const TOKEN = /^[A-Za-z0-9_-]{43}$/;
const DAY = 86_400_000;

/** Refresh tokens of the device door: rotation, reuse detection, scope, clients, expiry (inject, SQLite, manual clock). */
describe('device door refresh tokens (RFC 6749 §6, rotation and reuse detection of RFC 9700 §4.14)', () => {
  let t: TestApp;
  let clock: ManualClock;
  let alice: User;
  let base: string;
  beforeAll(async () => {
    clock = new ManualClock(Date.now());
    t = await createTestApp({ ...DEVICE_ENV, PAIRGATE_DEVICE_ADMIN_TOKEN: ADMIN_TOKEN, PAIRGATE_RATE_LIMIT_MAX: '100000', PAIRGATE_DEVICE_TOKEN_REQUESTS_PER_MINUTE: '100000', PAIRGATE_DEVICE_AUTHORIZATIONS_PER_MINUTE: '100000' }, { clock });
    base = await t.listen();
    alice = await createUser(t.app, 'alice-refresh');
  });
  afterAll(() => t.close());

  const rows = (family: string) => t.app.pairgate.stores.db.selectFrom('device_refresh_tokens').selectAll().where('family', '=', family).execute();

  it('the device-code answer carries a refresh token, stored hashed; it is not an access token (introspection: inactive)', async () => {
    const device = await authorize(t.app, 'cli', 'read');
    await t.app.pairgate.engine.approve(grantIdOf(String(device.body.device_code)), { status: 'approved', userId: alice.id, username: alice.username });
    const answer = await pollToken(t.app, String(device.body.device_code), 'cli');
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ access_token: expect.stringMatching(TOKEN), token_type: 'Bearer', expires_in: 3600, scope: 'read', refresh_token: expect.stringMatching(TOKEN) });
    const refresh = String(answer.body.refresh_token);
    expect(refresh).not.toBe(answer.body.access_token);
    const stored = await rows(grantIdOf(String(device.body.device_code)));
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ token_hash: hashToken(refresh), client_id: 'cli', user_id: alice.id, scope: 'read', used_at: null });
    expect(Number(stored[0]!.expires_at)).toBe(clock.now() + 30 * DAY);
    expect(JSON.stringify(stored)).not.toContain(refresh);
    expect((await introspect(t.app, refresh)).body).toEqual({ active: false });
  });

  it('refreshing gives a working access token and a new refresh token of the same family; the old one is then refused, and that reuse ends the family', async () => {
    const first = await connectDevice(t.app, alice, 'cli', 'read write');
    const firstRefresh = String(first.body.refresh_token);
    clock.advance(60_000);
    const second = await refreshToken(t.app, firstRefresh, 'cli');
    expect(second.status).toBe(200);
    expect(second.headers['cache-control']).toBe('no-store');
    expect(second.body).toEqual({ access_token: expect.stringMatching(TOKEN), token_type: 'Bearer', expires_in: 3600, scope: 'read write', refresh_token: expect.stringMatching(TOKEN) });
    expect(second.body.refresh_token).not.toBe(firstRefresh);
    expect((await introspect(t.app, String(second.body.access_token))).body).toMatchObject({ active: true, client_id: 'cli', username: 'alice-refresh', scope: 'read write', exp: Math.floor((clock.now() + 3_600_000) / 1000) });
    // The new access token carries the family, as the device authorization's did.
    const family = (await t.app.pairgate.stores.db.selectFrom('device_access_tokens').select('grant_id').where('token_hash', '=', hashToken(String(second.body.access_token))).executeTakeFirstOrThrow()).grant_id;
    expect((await t.app.pairgate.stores.db.selectFrom('device_access_tokens').select('grant_id').where('token_hash', '=', hashToken(String(first.body.access_token))).executeTakeFirstOrThrow()).grant_id).toBe(family);
    // Rotation again: the chain goes on.
    const third = await refreshToken(t.app, String(second.body.refresh_token), 'cli');
    expect(third.status).toBe(200);
    expect(await isActive(t.app, String(third.body.access_token))).toBe(true);
    expect(await isActive(t.app, String(first.body.access_token))).toBe(true);

    // The first refresh token again: only a copy explains it. Refused, and the whole family ends.
    const reused = await refreshToken(t.app, firstRefresh, 'cli');
    expect(reused).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    for (const answer of [first, second, third]) expect(await isActive(t.app, String(answer.body.access_token))).toBe(false);
    expect((await refreshToken(t.app, String(third.body.refresh_token), 'cli')).body.error).toBe('invalid_grant');
    expect(await rows(family)).toEqual([]);
    expect(t.logs.join('')).not.toContain(firstRefresh);
  });

  it('20 concurrent refreshes with one token: exactly one succeeds; the others are reuse, so the family ends', async () => {
    const connected = await connectDevice(t.app, alice, 'tv-app');
    const answers = await Promise.all(Array.from({ length: 20 }, () => refreshToken(t.app, String(connected.body.refresh_token))));
    const won = answers.filter((answer) => answer.status === 200);
    expect(won).toHaveLength(1);
    expect(answers.filter((answer) => answer.status === 400 && answer.body.error === 'invalid_grant')).toHaveLength(19);
    // Two parties presented the same refresh token: the server cannot tell the device from a thief.
    expect(await isActive(t.app, String(won[0]!.body.access_token))).toBe(false);
    expect((await refreshToken(t.app, String(won[0]!.body.refresh_token))).body.error).toBe('invalid_grant');
  });

  it('a refresh may ask for less than was granted, never more; the refresh token keeps what the person granted', async () => {
    const connected = await connectDevice(t.app, alice, 'cli', 'read write');
    const narrower = await refreshToken(t.app, String(connected.body.refresh_token), 'cli', 'read');
    expect(narrower.body).toMatchObject({ scope: 'read' });
    expect((await introspect(t.app, String(narrower.body.access_token))).body).toMatchObject({ active: true, scope: 'read' });
    const wider = await refreshToken(t.app, String(narrower.body.refresh_token), 'cli', 'read admin');
    expect(wider).toMatchObject({ status: 400, body: { error: 'invalid_scope' } });
    // A refused request does not spend the refresh token.
    const again = await refreshToken(t.app, String(narrower.body.refresh_token), 'cli');
    expect(again.body).toMatchObject({ scope: 'read write' });
  });

  it('only the client it was issued to may refresh, and a wrong attempt does not spend the token; malformed requests are 4xx', async () => {
    const connected = await connectDevice(t.app, alice, 'cli', 'read');
    const refresh = String(connected.body.refresh_token);
    expect(await refreshToken(t.app, refresh, 'tv-app')).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(await refreshToken(t.app, refresh, 'stranger')).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(await postForm(t.app, '/oauth/token', { grant_type: 'refresh_token', client_id: 'cli' })).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    for (const garbage of ['nope', 'x'.repeat(43), 'é'.repeat(43), `${refresh}x`]) expect(await refreshToken(t.app, garbage, 'cli')).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect((await postForm(t.app, '/oauth/token', { grant_type: 'refresh_token', client_id: 'cli', refresh_token: 'x'.repeat(501) })).status).toBe(400);
    expect(await refreshToken(t.app, refresh, 'cli')).toMatchObject({ status: 200 });
    const unsupported = await postForm(t.app, '/oauth/token', { grant_type: 'password', client_id: 'cli' });
    expect(unsupported).toMatchObject({ status: 400, body: { error: 'unsupported_grant_type' } });
    expect(String(unsupported.body.error_description)).toContain(DEVICE_GRANT_TYPE);
    expect(String(unsupported.body.error_description)).toContain('refresh_token');
  });

  it('an expired refresh token is invalid_grant; the sweeper deletes expired ones and keeps used ones until they expire', async () => {
    const connected = await connectDevice(t.app, alice, 'tv-app');
    const family = (await t.app.pairgate.stores.db.selectFrom('device_refresh_tokens').select('family').where('token_hash', '=', hashToken(String(connected.body.refresh_token))).executeTakeFirstOrThrow()).family;
    const rotated = await refreshToken(t.app, String(connected.body.refresh_token));
    expect(rotated.status).toBe(200);
    clock.advance(30 * DAY - 1000);
    await new DeviceTokens(t.app.pairgate.stores.db).sweep(clock.now());
    expect((await rows(family)).map((row) => (row.used_at === null ? 'unused' : 'used')).sort()).toEqual(['unused', 'used']);
    clock.advance(2000);
    expect(await refreshToken(t.app, String(rotated.body.refresh_token))).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    await new DeviceTokens(t.app.pairgate.stores.db).sweep(clock.now());
    expect(await rows(family)).toEqual([]);
  });

  it('a refresh token dies with its client: deleted (401), registered again (invalid_grant), or with its scopes narrowed (invalid_scope)', async () => {
    expect((await adminCall(base, 'PUT', '/kiosk', { name: 'Kiosk', scopes: ['read', 'print'] })).status).toBe(201);
    const connected = await connectDevice(t.app, alice, 'kiosk', 'read print');
    // Narrowed: the granted scope holds one the client lost; the scope it still has may be asked for.
    expect((await adminCall(base, 'PUT', '/kiosk', { name: 'Kiosk', scopes: ['read'] })).status).toBe(200);
    expect(await refreshToken(t.app, String(connected.body.refresh_token), 'kiosk')).toMatchObject({ status: 400, body: { error: 'invalid_scope' } });
    const narrowed = await refreshToken(t.app, String(connected.body.refresh_token), 'kiosk', 'read');
    expect(narrowed).toMatchObject({ status: 200, body: { scope: 'read' } });

    // Deleted: its refresh tokens go with it.
    expect((await adminCall(base, 'DELETE', '/kiosk')).status).toBe(204);
    expect(await t.app.pairgate.stores.db.selectFrom('device_refresh_tokens').select('token_hash').where('client_id', '=', 'kiosk').execute()).toEqual([]);
    expect(await refreshToken(t.app, String(narrowed.body.refresh_token), 'kiosk')).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    // Registered again: a new client. A refresh token of the old registration that escaped the
    // deletion (issued while it ran) is refused all the same.
    expect((await adminCall(base, 'PUT', '/kiosk', { name: 'Kiosk', scopes: ['read'] })).status).toBe(201);
    const escaped = await new DeviceTokens(t.app.pairgate.stores.db).refresh.issue({ family: 'escaped-family-0001', clientId: 'kiosk', registration: 'an-earlier-registration', userId: alice.id, scope: 'read', connectedAt: clock.now(), ttlMs: DAY }, clock.now());
    expect(await refreshToken(t.app, escaped, 'kiosk')).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(await refreshToken(t.app, String(narrowed.body.refresh_token), 'kiosk')).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('revoking a refresh token (RFC 7009) ends its family; revoking an access token ends it alone', async () => {
    const connected = await connectDevice(t.app, alice, 'cli', 'read');
    const rotated = await refreshToken(t.app, String(connected.body.refresh_token), 'cli');
    // An access token alone: the device still refreshes.
    expect((await postForm(t.app, '/oauth/revoke', { token: String(rotated.body.access_token), client_id: 'cli' })).status).toBe(200);
    expect(await isActive(t.app, String(rotated.body.access_token))).toBe(false);
    expect(await isActive(t.app, String(connected.body.access_token))).toBe(true);
    const next = await refreshToken(t.app, String(rotated.body.refresh_token), 'cli');
    expect(next.status).toBe(200);
    // Another client may not revoke it.
    expect(await postForm(t.app, '/oauth/revoke', { token: String(next.body.refresh_token), client_id: 'tv-app' })).toMatchObject({ status: 400, body: { error: 'unauthorized_client' } });
    // The refresh token (with or without the hint): every token of the family goes.
    expect((await postForm(t.app, '/oauth/revoke', { token: String(next.body.refresh_token), client_id: 'cli', token_type_hint: 'refresh_token' })).status).toBe(200);
    for (const answer of [connected, next]) expect(await isActive(t.app, String(answer.body.access_token))).toBe(false);
    expect((await refreshToken(t.app, String(next.body.refresh_token), 'cli')).body.error).toBe('invalid_grant');
    expect((await postForm(t.app, '/oauth/revoke', { token: String(next.body.refresh_token), client_id: 'cli' })).status).toBe(200);

    const other = await connectDevice(t.app, alice, 'cli', 'read');
    expect((await postForm(t.app, '/oauth/revoke', { token: String(other.body.refresh_token), client_id: 'cli', token_type_hint: 'access_token' })).status).toBe(200);
    expect(await isActive(t.app, String(other.body.access_token))).toBe(false);
  });

  it('deleting the account ends its refresh tokens', async () => {
    const bob = await createUser(t.app, 'bob-refresh');
    const connected = await connectDevice(t.app, bob, 'tv-app');
    expect(await new UserStore(t.app.pairgate.stores.db).delete(bob.id)).toBe(true);
    expect(await t.app.pairgate.stores.db.selectFrom('device_refresh_tokens').select('token_hash').where('user_id', '=', bob.id).execute()).toEqual([]);
    expect(await refreshToken(t.app, String(connected.body.refresh_token))).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('metadata lists the refresh_token grant', async () => {
    const metadata = (await t.app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' })).json<{ grant_types_supported: string[] }>();
    expect(metadata.grant_types_supported).toEqual([DEVICE_GRANT_TYPE, 'refresh_token']);
  });
});

describe('connected devices with refresh tokens: one entry per device, Disconnect ends refreshing', () => {
  let t: TestApp;
  let clock: ManualClock;
  let base: string;
  beforeAll(async () => {
    clock = new ManualClock(Date.now());
    t = await createTestApp({ ...DEVICE_ENV, PAIRGATE_RATE_LIMIT_MAX: '100000', PAIRGATE_DEVICE_TOKEN_REQUESTS_PER_MINUTE: '100000' }, { clock });
    base = await t.listen();
  });
  afterAll(() => t.close());

  it('a device that refreshed is listed once; with its access token expired it is still listed, until its refresh token expires; Disconnect ends it all', async () => {
    const carol = new FormClient(base);
    await carol.register('devices-refresh-carol');
    const user = (await new UserStore(t.app.pairgate.stores.db).findByLogin('devices-refresh-carol'))!;
    const connectedAt = clock.now();
    const connected = await connectDevice(t.app, user, 'cli', 'read write');
    let refresh = String(connected.body.refresh_token);
    let access = '';
    for (let i = 0; i < 3; i++) {
      clock.advance(60_000);
      const answer = await refreshToken(t.app, refresh, 'cli', 'read');
      expect(answer.status).toBe(200);
      refresh = String(answer.body.refresh_token);
      access = String(answer.body.access_token);
    }
    const list = async () => {
      const answer = await carol.get('/api/v1/device/tokens');
      expect(answer.status).toBe(200);
      expect(answer.text).not.toContain(refresh);
      return (JSON.parse(answer.text) as { devices: { id: string; clientName: string; scope: string; createdAt: string; expiresAt: string }[] }).devices;
    };
    const refreshExpiry = new Date(clock.now() + 30 * DAY).toISOString();
    expect(await list()).toEqual([{ id: expect.any(String), clientId: 'cli', clientName: 'pairgate CLI', scope: 'read write', createdAt: new Date(connectedAt).toISOString(), expiresAt: refreshExpiry }]);
    expect(((await carol.get('/account/devices')).text.match(/Disconnect<\/button>/g) ?? []).length).toBe(1);

    // Every access token expired: the device can still refresh, so it is still connected.
    clock.advance(2 * 3_600_000);
    expect(await isActive(t.app, access)).toBe(false);
    const [device] = await list();
    expect(device).toMatchObject({ expiresAt: refreshExpiry, createdAt: new Date(connectedAt).toISOString() });

    const disconnect = await fetch(`${base}/api/v1/device/tokens/${device!.id}`, { method: 'DELETE', headers: { cookie: [...carol.cookies].map(([k, v]) => `${k}=${v}`).join('; ') } });
    expect(disconnect.status).toBe(204);
    expect(await refreshToken(t.app, refresh, 'cli')).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(await list()).toEqual([]);
  });
});

describe('PAIRGATE_DEVICE_REFRESH_TOKEN_TTL_SECONDS', () => {
  const configOf = (env: Record<string, string>) => loadConfig(allDoors.flatMap((door) => (door.configSchema ? [door.configSchema] : [])), { env });

  it('is 30 days by default, 0 or more, at most 366 days; a bad value stops start-up naming the key', () => {
    expect(configOf({}).PAIRGATE_DEVICE_REFRESH_TOKEN_TTL_SECONDS).toBe(2_592_000);
    expect(configOf({ PAIRGATE_DEVICE_REFRESH_TOKEN_TTL_SECONDS: '0' }).PAIRGATE_DEVICE_REFRESH_TOKEN_TTL_SECONDS).toBe(0);
    for (const bad of ['-1', '31622401', 'soon']) expect(() => configOf({ PAIRGATE_DEVICE_REFRESH_TOKEN_TTL_SECONDS: bad })).toThrow(/PAIRGATE_DEVICE_REFRESH_TOKEN_TTL_SECONDS/);
  });
});

describe('PAIRGATE_DEVICE_REFRESH_TOKEN_TTL_SECONDS=0: no refresh tokens', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ ...DEVICE_ENV, PAIRGATE_DEVICE_REFRESH_TOKEN_TTL_SECONDS: '0' });
  });
  afterAll(() => t.close());

  it('the token answer has none, the metadata does not offer the grant, and the grant is unsupported', async () => {
    const alice = await createUser(t.app, 'alice-no-refresh');
    const answer = await connectDevice(t.app, alice, 'tv-app');
    expect(answer.status).toBe(200);
    expect(answer.body).not.toHaveProperty('refresh_token');
    expect(answer.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    const metadata = (await t.app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' })).json<{ grant_types_supported: string[] }>();
    expect(metadata.grant_types_supported).toEqual([DEVICE_GRANT_TYPE]);
    // Refresh tokens issued before the lifetime was set to 0 are refused too.
    const earlier = await new DeviceTokens(t.app.pairgate.stores.db).refresh.issue({ family: 'earlier-family-0001', clientId: 'tv-app', registration: undefined, userId: alice.id, scope: '', connectedAt: Date.now(), ttlMs: DAY }, Date.now());
    const refused = await refreshToken(t.app, earlier);
    expect(refused).toMatchObject({ status: 400, body: { error: 'unsupported_grant_type' } });
    expect(String(refused.body.error_description)).not.toContain('refresh_token');
    expect(await t.app.pairgate.stores.db.selectFrom('device_refresh_tokens').select('family').execute()).toEqual([{ family: 'earlier-family-0001' }]);
  });
});
