import { describe, expect, it } from 'vitest';
import { browserSkipReason, settledForDecision } from '../../helpers/browser.js';
import { useBrowserApp } from '../../helpers/browser-app.js';
import { FormClient } from '../access/form-client.js';
import { DEVICE_ENV } from './device-helpers.js';

const skip = browserSkipReason();

describe.skipIf(Boolean(skip))(`device verification page in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const password = 'chromium password 1';
  const suite = useBrowserApp(DEVICE_ENV, { prepare: (t) => new FormClient(t.url).register('chromium-owner', password) });
  const open = () => suite.newPage();

  const startDevice = async (clientId: string, scope: string) => {
    const response = await fetch(`${suite.url}/oauth/device_authorization`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'KioskOS/3 (chromium test)' }, body: new URLSearchParams({ client_id: clientId, scope }) });
    return (await response.json()) as { device_code: string; user_code: string; verification_uri: string; verification_uri_complete: string };
  };
  const token = async (deviceCode: string, clientId: string) => {
    const response = await fetch(`${suite.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: deviceCode, client_id: clientId }) });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('type the code, sign in, see the client and scopes, approve: the device gets its token', async () => {
    const device = await startDevice('cli', 'read write');
    const { page, problems } = await open();
    await page.goto(device.verification_uri);
    // Typed the way people do: lower case, a space instead of the dash.
    await page.getByLabel('Code').fill(device.user_code.toLowerCase().replace('-', ' '));
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByLabel('Username or e-mail').fill('chromium-owner');
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Connect pairgate CLI?' }).waitFor();
    expect(await page.locator('#client-id').textContent()).toBe('cli');
    expect(await page.locator('#scopes li').allTextContents()).toEqual(['read', 'write']);
    expect(await page.locator('#origin-ip').textContent()).toContain('127.0.0.1');
    expect(await page.locator('#origin-agent').textContent()).toContain('KioskOS/3 (chromium test)');
    expect(await page.locator('#origin-time').textContent()).toMatch(/UTC/);
    expect((await token(device.device_code, 'cli')).body.error).toBe('authorization_pending');
    await settledForDecision(page);
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.locator('#outcome[data-outcome="approved"]').waitFor();
    expect(await page.locator('#outcome').textContent()).toContain('pairgate CLI is connected');
    const answer = await token(device.device_code, 'cli');
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ token_type: 'Bearer', scope: 'read write' });
    expect(problems).toEqual([]);
  });

  it('the complete URI fills the code in; a wrong code is said; deny tells the device access_denied', async () => {
    const device = await startDevice('tv-app', '');
    const { page, problems } = await open();
    await page.goto(`${suite.url}/device`);
    await page.getByLabel('Code').fill('BCDF-GHJK');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('alert').filter({ hasText: 'No device is waiting with this code.' }).waitFor();
    await page.goto(device.verification_uri_complete);
    expect(await page.getByLabel('Code').inputValue()).toBe(device.user_code);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByLabel('Username or e-mail').fill('chromium-owner');
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Connect Living-room TV?' }).waitFor();
    expect(await page.locator('#scopes').textContent()).toContain('Basic access');
    await settledForDecision(page);
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.locator('#outcome[data-outcome="denied"]').waitFor();
    expect((await token(device.device_code, 'tv-app')).body.error).toBe('access_denied');
    expect(problems).toEqual([]);
  });

  it('back, reload or the form sent again after answering: the person is told what they answered, not to start again', async () => {
    const device = await startDevice('cli', 'read');
    const { page } = await open();
    await page.goto(device.verification_uri_complete);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByLabel('Username or e-mail').fill('chromium-owner');
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await settledForDecision(page);
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.locator('#outcome[data-outcome="approved"]').waitFor();
    // The form sent again (reload of the POST answer).
    const resent = await page.reload();
    expect(resent?.status()).toBe(409);
    await page.locator('#outcome[data-outcome="approved"]').waitFor();
    expect(await page.locator('#outcome').textContent()).toBe('You already approved pairgate CLI: it is connected. You can return to your device.');
    // Back to the consent screen, which the browser loads again; the device still gets its token once.
    await page.goBack();
    expect(page.url()).toContain('/device/consent');
    await page.locator('#outcome[data-outcome="approved"]').waitFor();
    expect(await page.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    expect((await token(device.device_code, 'cli')).status).toBe(200);
    await page.reload();
    await page.locator('#outcome[data-outcome="approved"]').waitFor();

    // Someone else signed in in that browser is only told the request was answered.
    const denied = await startDevice('tv-app', '');
    const other = await open();
    await new FormClient(suite.url).register('chromium-other', password);
    await other.page.goto(denied.verification_uri_complete);
    await other.page.getByRole('button', { name: 'Continue' }).click();
    await other.page.getByLabel('Username or e-mail').fill('chromium-owner');
    await other.page.getByLabel('Password').fill(password);
    await other.page.getByRole('button', { name: 'Sign in' }).click();
    await settledForDecision(other.page);
    await other.page.getByRole('button', { name: 'Deny' }).click();
    await other.page.locator('#outcome[data-outcome="denied"]').waitFor();
    await other.page.goBack();
    expect(await other.page.locator('#outcome').textContent()).toBe('You already denied access to Living-room TV. Nothing was connected.');
    await other.page.goto(`${suite.url}/account/signin`);
    await other.page.getByRole('button', { name: 'Sign out' }).click();
    await other.page.goto(`${suite.url}/account/signin`);
    await other.page.getByLabel('Username or e-mail').fill('chromium-other');
    await other.page.getByLabel('Password').fill(password);
    await other.page.getByRole('button', { name: 'Sign in' }).click();
    await other.page.waitForURL(/\/account\/accesses/);
    await other.page.goto(`${suite.url}/device/consent?request=${denied.device_code.split('.')[0]!}&lang=en`);
    expect(await other.page.getByRole('alert').textContent()).toBe('This request has already been answered, and the device has the answer. Look at your device: if it is not connected, start again there.');
  });
});
