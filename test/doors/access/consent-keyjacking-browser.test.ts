import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { browserSkipReason } from '../../helpers/browser.js';
import { useBrowserApp } from '../../helpers/browser-app.js';
import { authRequest, FormClient, getJson, postJson } from './form-client.js';

/**
 * Keyjacking: the consent page must not be decided by a key pressed as it opens. Anyone may start
 * a request (under any app id not pinned to a return origin, whose token goes to the poll) and
 * open its auth URL in a popup from their own page on a keystroke ("press Enter to continue"):
 * the popup takes the keyboard's focus, and the person's next Enter or Space went to the page's
 * autofocused Accept button. The token then went to whoever started the request, the person having
 * read nothing, on the compact "asks again" screen of an app they use as on the full one.
 */
const skip = browserSkipReason('the consent keyjacking browser test');

describe('the consent screen gives the keyboard focus to no button', () => {
  const ask = async (client: FormClient, requestingAppId: string): Promise<string> => {
    const created = await postJson(`${client.base}/access`, authRequest({ requestingAppId, requestedPermissions: [{ streamId: '*', level: 'manage' }] }));
    return (await client.get(`/access/auth?key=${String(created.body.key)}`)).text;
  };
  const suite = useBrowserApp({ PAIRGATE_SCRYPT_COST: '10' });
  let client: FormClient;
  beforeAll(async () => {
    client = new FormClient(suite.url);
    await client.register('keyjack-html');
  });

  it('neither on the full screen nor on the compact one (served HTML)', async () => {
    const first = await ask(client, 'keyjack-html-app');
    expect(first).toContain('/access/auth/decide');
    expect(first).not.toMatch(/<button[^>]*autofocus/);
    // The question itself has the focus, so a screen reader starts there.
    expect(first).toMatch(/<h1 [^>]*autofocus/);
    const key = /name="key" value="([^"]+)"/.exec(first)![1]!;
    expect((await client.post('/access/auth/decide', { key, decision: 'accept' })).status).toBe(200);
    const again = await ask(client, 'keyjack-html-app');
    expect(again).toContain('asks again for the access it already has');
    expect(again).not.toMatch(/<button[^>]*autofocus/);
  });

  describe.skipIf(Boolean(skip))(`in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
    let page: Page;
    beforeAll(async () => {
      page = await (await suite.browser.newContext()).newPage();
      page.setDefaultTimeout(10_000);
      await page.goto(`${suite.url}/account/register`);
      await page.getByLabel('E-mail').fill('keyjack@example.test');
      await page.getByLabel('Username').fill('keyjack-user');
      await page.getByLabel('Password').fill('keyjack password 1');
      await page.keyboard.press('Enter');
      await page.waitForURL(`${suite.url}/account/accesses`);
    });

    it('Enter and Space pressed as the page opens decide nothing; Tab then Enter accepts', async () => {
      const created = (await postJson(`${suite.url}/access`, authRequest({ requestingAppId: 'keyjack-app', requestedPermissions: [{ streamId: '*', level: 'manage' }] }))).body;
      await page.goto(String(created.url));
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Allow access?');
      await page.waitForLoadState('load');
      await page.keyboard.press('Enter');
      await page.keyboard.press('Space');
      await page.waitForTimeout(1_000);
      expect((await getJson(String(created.poll))).body.status).toBe('NEED_SIGNIN');
      expect(page.url()).toBe(String(created.url));
      expect(await page.evaluate('document.activeElement && document.activeElement.tagName')).toBe('H1');
      // A person using the keyboard is one Tab away from Accept.
      await page.keyboard.press('Tab');
      expect(await page.evaluate('document.activeElement && document.activeElement.textContent')).toBe('Accept');
      await page.keyboard.press('Enter');
      await page.waitForSelector('#outcome[data-outcome="ACCEPTED"]');
      expect((await getJson(String(created.poll))).body.status).toBe('ACCEPTED');
    });
  });
});
