import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEVICE_GRANT_TYPE } from '../../../src/doors/device/device-grant.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { approve, createUser, INTROSPECTION_AUTH, INTROSPECTION_SECRET } from './device-helpers.js';

const BOTH = JSON.stringify({ 'tv-app': 'Living-room TV', kiosk: 'Lobby kiosk' });
const KIOSK_ONLY = JSON.stringify({ kiosk: 'Lobby kiosk' });

/**
 * PAIRGATE_DEVICE_CLIENTS is read at start-up: a client taken out of it is gone after a restart,
 * and the tokens it was issued stay in the table but introspect as inactive. Servers run one after
 * the other on the same data folder (the same SQLite database), as a restart does.
 */
describe('device door: a client removed from PAIRGATE_DEVICE_CLIENTS (at a restart)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-device-restart-'));
  let running: TestApp | undefined;
  afterAll(async () => {
    await running?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const start = async (clients: string): Promise<TestApp> => {
    running = await createTestApp({ PAIRGATE_DATA_DIR: dataDir, PAIRGATE_SCRYPT_COST: '10', PAIRGATE_DEVICE_CLIENTS: clients, PAIRGATE_DEVICE_INTROSPECTION_SECRET: INTROSPECTION_SECRET });
    await running.listen();
    return running;
  };
  const stop = async (): Promise<void> => {
    await running?.close();
    running = undefined;
  };
  const post = async (t: TestApp, path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> => {
    const response = await fetch(`${t.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(fields).toString() });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('its tokens introspect as inactive; the other clients\' tokens stay active; it cannot pair, its holder may still revoke', async () => {
    let t = await start(BOTH);
    const alice = await createUser(t.app, 'alice-restart');
    const tokens: Record<string, string> = {};
    for (const clientId of ['tv-app', 'kiosk', 'tv-app#2']) {
      const client = clientId.split('#')[0]!;
      const started = await post(t, '/oauth/device_authorization', { client_id: client });
      await approve(t.app, String(started.body.device_code), alice);
      const token = await post(t, '/oauth/token', { grant_type: DEVICE_GRANT_TYPE, client_id: client, device_code: String(started.body.device_code) });
      expect(token.status).toBe(200);
      tokens[clientId] = String(token.body.access_token);
      expect((await post(t, '/oauth/introspect', { token: tokens[clientId] }, INTROSPECTION_AUTH)).body).toMatchObject({ active: true, client_id: client });
    }
    await stop();

    t = await start(KIOSK_ONLY);
    expect((await post(t, '/oauth/introspect', { token: tokens['tv-app']! }, INTROSPECTION_AUTH)).body).toEqual({ active: false });
    expect((await post(t, '/oauth/introspect', { token: tokens['tv-app#2']! }, INTROSPECTION_AUTH)).body).toEqual({ active: false });
    expect((await post(t, '/oauth/introspect', { token: tokens.kiosk! }, INTROSPECTION_AUTH)).body).toMatchObject({ active: true, client_id: 'kiosk', username: 'alice-restart' });
    // The row is still there (it goes when it expires and is swept), only no longer honoured.
    const rows = await t.app.pairgate.stores.db.selectFrom('device_access_tokens').select('client_id').execute();
    expect(rows.map((row) => row.client_id).sort()).toEqual(['kiosk', 'tv-app', 'tv-app']);
    expect(await post(t, '/oauth/device_authorization', { client_id: 'tv-app' })).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    // Its holder may still revoke it (RFC 7009: the token names its client), which deletes the row.
    expect((await post(t, '/oauth/revoke', { token: tokens['tv-app']!, client_id: 'tv-app' })).status).toBe(200);
    expect((await t.app.pairgate.stores.db.selectFrom('device_access_tokens').select('client_id').execute()).map((row) => row.client_id).sort()).toEqual(['kiosk', 'tv-app']);
    await stop();

    // Unlike a client deleted through the admin API (whose tokens are revoked for good), a configured
    // client put back into the configuration finds its unexpired, unrevoked tokens active again: a
    // configured client has no registration id to tell its former self apart.
    t = await start(BOTH);
    expect((await post(t, '/oauth/introspect', { token: tokens['tv-app#2']! }, INTROSPECTION_AUTH)).body).toMatchObject({ active: true, client_id: 'tv-app' });
    expect((await post(t, '/oauth/introspect', { token: tokens['tv-app']! }, INTROSPECTION_AUTH)).body).toEqual({ active: false });
  });
});
