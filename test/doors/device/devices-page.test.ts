import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserStore } from '../../../src/doors/accounts/users.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { browserSkipReason, launchBrowser, newWatchedPage } from '../../helpers/browser.js';
import { FormClient } from '../access/form-client.js';
import { DEVICE_ENV } from './device-helpers.js';

const skip = browserSkipReason();

/** A device authorization started over the wire, its token fetched once someone decided. */
function deviceClient(base: string) {
  const form = (path: string, fields: Record<string, string>) =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) });
  return {
    async start(clientId: string, scope: string) {
      return (await (await form('/oauth/device_authorization', { client_id: clientId, scope })).json()) as { device_code: string; user_code: string; verification_uri: string };
    },
    async token(deviceCode: string, clientId: string) {
      return (await (await form('/oauth/token', { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: deviceCode, client_id: clientId })).json()) as { access_token?: string };
    },
    async active(token: string) {
      return ((await (await form('/oauth/introspect', { token })).json()) as { active: boolean }).active;
    },
  };
}

/**
 * The person who approved devices sees them and disconnects any: the page (in Chromium) and its JSON
 * twin. A disconnected device's token opens nothing from then on; nobody sees or touches another
 * person's devices, and the tokens themselves are never shown.
 */
describe('connected devices of an account', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp(DEVICE_ENV);
    base = await t.listen();
  });
  afterAll(() => t.close());

  /** Starts a device for `clientId` and approves it as the account of `username`; returns its token. */
  const connected = async (username: string, clientId: string, scope: string) => {
    const device = deviceClient(base);
    const started = await device.start(clientId, scope);
    const user = (await new UserStore(t.app.pairgate.stores.db).findByLogin(username))!;
    await t.app.pairgate.engine.approve(started.device_code.split('.')[0]!, { status: 'approved', userId: user.id, username: user.username });
    return (await device.token(started.device_code, clientId)).access_token!;
  };

  it('lists only your own devices, by name and scope, without their tokens; DELETE disconnects one of yours, 404 for anyone else\'s', async () => {
    const alice = new FormClient(base);
    await alice.register('devices-alice');
    const bob = new FormClient(base);
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
      fetch(`${base}/api/v1/device/tokens/${id}`, { method: 'DELETE', headers: { cookie: [...client.cookies].map(([k, v]) => `${k}=${v}`).join('; ') } });
    expect((await remove(alice, bobDevice!.id)).status).toBe(404);
    expect(await deviceClient(base).active(bobCli)).toBe(true);
    expect((await remove(alice, aliceDevices[0]!.id)).status).toBe(204);
    expect(await deviceClient(base).active(aliceCli)).toBe(false);
    expect(await deviceClient(base).active(aliceTv)).toBe(true);
    expect((await list(alice)).map((d) => d.clientName)).toEqual(['Living-room TV']);
    expect((await fetch(`${base}/api/v1/device/tokens`)).status).toBe(401);
  });

  describe.skipIf(Boolean(skip))(`in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await launchBrowser();
    }, 60_000);
    afterAll(() => browser?.close());

    it('the account pages link to the devices; Disconnect cuts the device off at once', async () => {
      const password = 'devices page password';
      await new FormClient(base).register('devices-carol', password);
      const token = await connected('devices-carol', 'cli', 'read write');
      const { page, problems } = await newWatchedPage(browser);
      await page.goto(`${base}/account/devices`);
      await page.getByLabel('Username or e-mail').fill('devices-carol');
      await page.getByLabel('Password').fill(password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Connected devices' }).waitFor();
      expect(await page.getByRole('heading', { name: 'pairgate CLI' }).count()).toBe(1);
      expect(await page.locator('ul.permissions li').allTextContents()).toEqual(['read', 'write']);

      await page.getByRole('button', { name: 'Disconnect' }).click();
      await page.getByRole('status').filter({ hasText: 'The device is disconnected.' }).waitFor();
      expect(await page.getByText('No device is connected to your account.').count()).toBe(1);
      expect(await deviceClient(base).active(token)).toBe(false);

      // Reached from the other account pages' navigation.
      await page.goto(`${base}/account/accesses`);
      await page.getByRole('link', { name: 'Devices' }).click();
      await page.getByRole('heading', { name: 'Connected devices' }).waitFor();
      expect(problems).toEqual([]);
    });
  });
});
