import { describe, expect, it, vi } from 'vitest';
import { UserStore } from '../../../src/doors/accounts/users.js';
import { DeviceClientRegistry } from '../../../src/doors/device/client-registry.js';
import { parseDeviceClients } from '../../../src/doors/device/clients.js';
import { DeviceTokens } from '../../../src/doors/device/device-tokens.js';
import type { DurableDb } from '../../../src/store/durable-schema.js';
import { useListeningApp } from '../../helpers/app.js';
import { browserSkipReason, useBrowser } from '../../helpers/browser.js';
import { FormClient } from '../access/form-client.js';
import { ADMIN_TOKEN, adminCall, CLIENTS, connectDevice, DEVICE_ENV, INTROSPECTION_AUTH } from './device-helpers.js';

const skip = browserSkipReason();

/** A device authorization started over the wire, its token fetched once someone decided. */
function deviceClient(base: string) {
  const form = (path: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(fields) });
  return {
    async start(clientId: string, scope: string) {
      return (await (await form('/oauth/device_authorization', { client_id: clientId, scope })).json()) as { device_code: string; user_code: string; verification_uri: string };
    },
    async token(deviceCode: string, clientId: string) {
      return (await (await form('/oauth/token', { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: deviceCode, client_id: clientId })).json()) as { access_token?: string };
    },
    async active(token: string) {
      return ((await (await form('/oauth/introspect', { token }, INTROSPECTION_AUTH)).json()) as { active: boolean }).active;
    },
  };
}

/**
 * The person who approved devices sees them and disconnects any: the page (in Chromium) and its JSON
 * twin. A disconnected device's token opens nothing from then on; nobody sees or touches another
 * person's devices, and the tokens themselves are never shown.
 */
describe('connected devices of an account', () => {
  const server = useListeningApp(DEVICE_ENV);

  /** Starts a device for `clientId` and approves it as the account of `username`; returns its token. */
  const connected = async (username: string, clientId: string, scope: string) => {
    const device = deviceClient(server.base);
    const started = await device.start(clientId, scope);
    const user = (await new UserStore(server.t.app.pairgate.stores.db).findByLogin(username))!;
    await server.t.app.pairgate.engine.approve(started.device_code.split('.')[0]!, { status: 'approved', userId: user.id, username: user.username });
    return (await device.token(started.device_code, clientId)).access_token!;
  };

  it('lists only your own devices, by name and scope, without their tokens; DELETE disconnects one of yours, 404 for anyone else\'s', async () => {
    const alice = new FormClient(server.base);
    await alice.register('devices-alice');
    const bob = new FormClient(server.base);
    await bob.register('devices-bob');
    const aliceTv = await connected('devices-alice', 'tv-app', '');
    const aliceCli = await connected('devices-alice', 'cli', 'read write');
    const bobCli = await connected('devices-bob', 'cli', 'read');

    const list = async (client: FormClient) => {
      const answer = await client.get('/api/v1/device/tokens');
      expect(answer.status).toBe(200);
      for (const token of [aliceTv, aliceCli, bobCli]) expect(answer.text).not.toContain(token);
      return (JSON.parse(answer.text) as { devices: { id: string; clientName: string; scope: string }[] }).devices;
    };
    const aliceDevices = await list(alice);
    expect(aliceDevices.map((d) => [d.clientName, d.scope])).toEqual([['pairgate CLI', 'read write'], ['Living-room TV', '']]);
    const [bobDevice] = await list(bob);

    const remove = (client: FormClient, id: string) =>
      fetch(`${server.base}/api/v1/device/tokens/${id}`, { method: 'DELETE', headers: { cookie: [...client.cookies].map(([k, v]) => `${k}=${v}`).join('; ') } });
    expect((await remove(alice, bobDevice!.id)).status).toBe(404);
    // A malformed id is told where ids come from, not the regular expression that refused it.
    const malformed = await remove(alice, 'not%20an%20id');
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toEqual({ error: 'validation_failed', message: 'This is not a device id: use the id of one of your devices, from GET /api/v1/device/tokens.' });
    expect(await deviceClient(server.base).active(bobCli)).toBe(true);
    expect((await remove(alice, aliceDevices[0]!.id)).status).toBe(204);
    expect(await deviceClient(server.base).active(aliceCli)).toBe(false);
    expect(await deviceClient(server.base).active(aliceTv)).toBe(true);
    expect((await list(alice)).map((d) => d.clientName)).toEqual(['Living-room TV']);
    expect((await fetch(`${server.base}/api/v1/device/tokens`)).status).toBe(401);
  });

  describe.skipIf(Boolean(skip))(`in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
    const chromium = useBrowser();

    it('the account pages link to the devices; Disconnect cuts the device off at once', async () => {
      const password = 'devices page password';
      await new FormClient(server.base).register('devices-carol', password);
      const token = await connected('devices-carol', 'cli', 'read write');
      const { page, problems } = await chromium.newPage();
      await page.goto(`${server.base}/account/devices`);
      await page.getByLabel('Username or e-mail').fill('devices-carol');
      await page.getByLabel('Password').fill(password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Connected devices' }).waitFor();
      expect(await page.getByRole('heading', { name: 'pairgate CLI' }).count()).toBe(1);
      expect(await page.locator('ul.permissions li').allTextContents()).toEqual(['read', 'write']);

      await page.getByRole('button', { name: 'Disconnect' }).click();
      await page.getByRole('status').filter({ hasText: 'The device is disconnected.' }).waitFor();
      expect(await page.getByText('No device is connected to your account.').count()).toBe(1);
      expect(await deviceClient(server.base).active(token)).toBe(false);

      // Reached from the other account pages' navigation.
      await page.goto(`${server.base}/account/accesses`);
      await page.getByRole('link', { name: 'Devices' }).click();
      await page.getByRole('heading', { name: 'Connected devices' }).waitFor();
      expect(problems).toEqual([]);
    });
  });
});

/**
 * The list names each device's client from one batched look-up of the registry (one query for the
 * stored clients, the configured ones from memory), not one look-up per device, with the same
 * names as before: configured and API-registered clients by name, a client no longer registered by
 * its id.
 */
describe('connected devices of several clients', () => {
  const server = useListeningApp({ ...DEVICE_ENV, PAIRGATE_DEVICE_ADMIN_TOKEN: ADMIN_TOKEN, PAIRGATE_RATE_LIMIT_MAX: '100000', PAIRGATE_DEVICE_AUTHORIZATIONS_PER_MINUTE: '100000', PAIRGATE_DEVICE_TOKEN_REQUESTS_PER_MINUTE: '100000' });

  it('Disconnect leads back to a bare address when the cookie carries the page\'s language, to one with ?lang= for a browser without it; so does revoking an app access', async () => {
    const person = new FormClient(server.base, { 'accept-language': 'en' });
    await person.register('devices-lang');
    await person.get('/account/devices?lang=fr');
    expect(person.cookies.get('pg_lang')).toBe('fr');
    for (const page of ['/account/devices', '/account/accesses']) {
      const revoked = await person.post(`${page}/no-such-id/revoke`, { lang: 'fr' });
      expect(revoked.status, page).toBe(303);
      expect(revoked.location, page).toBe(`${page}?revoked=1`);
      expect((await person.get(revoked.location!)).text, page).toContain('<html lang="fr">');
    }
    person.cookies.delete('pg_lang');
    for (const page of ['/account/devices', '/account/accesses']) {
      expect((await person.post(`${page}/no-such-id/revoke`, { lang: 'fr' })).location, page).toBe(`${page}?revoked=1&lang=fr`);
      expect((await person.post(`${page}/no-such-id/revoke`, { lang: 'en' })).location, page).toBe(`${page}?revoked=1`);
    }
  });

  it('names every device of every client on the API and the page, with one registry look-up for all of them', async () => {
    expect((await adminCall(server.base, 'PUT', '/set-top-box', { name: 'Set-top box' })).status).toBe(201);
    expect((await adminCall(server.base, 'PUT', '/kiosk-1', { name: 'Lobby kiosk', scopes: ['read'] })).status).toBe(201);
    const person = new FormClient(server.base);
    await person.register('devices-many');
    const user = (await new UserStore(server.t.app.pairgate.stores.db).findByLogin('devices-many'))!;
    const plan: [string, string][] = [['tv-app', 'Living-room TV'], ['tv-app', 'Living-room TV'], ['cli', 'pairgate CLI'], ['set-top-box', 'Set-top box'], ['set-top-box', 'Set-top box'], ['kiosk-1', 'Lobby kiosk']];
    for (const [clientId] of plan) expect((await connectDevice(server.t.app, user, clientId)).status).toBe(200);
    // A token of a client that is registered nowhere (as after it left PAIRGATE_DEVICE_CLIENTS): shown by its id.
    await new DeviceTokens(server.t.app.pairgate.stores.db).issue({ clientId: 'retired-app', registration: undefined, userId: user.id, scope: '', grantId: 'retired-app-grant-0001', ttlMs: 3_600_000 }, Date.now());
    const expected = [...plan, ['retired-app', 'retired-app']].sort();

    const find = vi.spyOn(DeviceClientRegistry.prototype, 'find');
    const findMany = vi.spyOn(DeviceClientRegistry.prototype, 'findMany');
    try {
      const answer = await person.get('/api/v1/device/tokens');
      expect(answer.status).toBe(200);
      const devices = (JSON.parse(answer.text) as { devices: { clientId: string; clientName: string }[] }).devices;
      expect(devices.map((device) => [device.clientId, device.clientName]).sort()).toEqual(expected);
      expect(find).not.toHaveBeenCalled();
      expect(findMany).toHaveBeenCalledTimes(1);

      const page = await person.get('/account/devices');
      expect(page.status).toBe(200);
      for (const name of ['Living-room TV', 'pairgate CLI', 'Set-top box', 'Lobby kiosk', 'retired-app']) expect(page.text).toContain(name);
      expect(page.text.match(/Set-top box/g)).toHaveLength(2);
      expect(find).not.toHaveBeenCalled();
      expect(findMany).toHaveBeenCalledTimes(2);
    } finally {
      find.mockRestore();
      findMany.mockRestore();
    }
  });

  it('findMany reads the stored clients in one query and answers as find does, id for id', async () => {
    const db = server.t.app.pairgate.stores.db;
    let queries = 0;
    // Counts the statements the registry starts on the database.
    const counted = new Proxy(db, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (property !== 'selectFrom' || typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          queries += 1;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    }) as DurableDb;
    const registry = new DeviceClientRegistry(parseDeviceClients(CLIENTS), counted);
    const ids = ['tv-app', 'set-top-box', 'kiosk-1', 'cli', 'set-top-box', 'nobody', 'not a client id!'];
    const many = await registry.findMany(ids);
    expect(queries).toBe(1);
    for (const id of ids) expect(many.get(id)).toEqual(await registry.find(id));
    expect([...many.keys()].sort()).toEqual(['cli', 'kiosk-1', 'set-top-box', 'tv-app']);
    queries = 0;
    expect([...(await registry.findMany(['tv-app', 'cli'])).keys()]).toEqual(['tv-app', 'cli']);
    expect(await registry.findMany([])).toEqual(new Map());
    expect(queries).toBe(0);
  });
});
