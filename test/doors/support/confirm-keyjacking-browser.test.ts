import { describe, expect, it } from 'vitest';
import { SupportOriginClient } from '../../../src/sdk/support.js';
import { browserSkipReason } from '../../helpers/browser.js';
import { useBrowserApp } from '../../helpers/browser-app.js';
import { ADMIN, selfRelayingOriginEnv } from './helpers.js';

const skip = browserSkipReason('the support confirmation keyjacking browser test');

/**
 * Keyjacking: the confirmation page must not be decided by a key pressed as it opens. Anyone with
 * a code of their own (a fake supporter's) may open `/pairing/<code>` in a popup from their page on
 * a keystroke ("press Enter to continue"): the popup takes the keyboard's focus, and the person's
 * next Enter or Space went to the autofocused Confirm button, starting a support session with
 * whoever made the code, the person having read nothing.
 */
describe.skipIf(Boolean(skip))(`support confirmation in Chromium: no key pressed as it opens confirms${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let sdk: SupportOriginClient;
  const suite = useBrowserApp((url) => selfRelayingOriginEnv(url), {
    prepare: async (t) => {
      sdk = new SupportOriginClient({ baseUrl: t.url, ...ADMIN });
    },
  });

  it('Enter and Space pressed as the page opens confirm nothing; Tab then Enter confirms', async () => {
    const created = await sdk.createSession({ id: 'keyjack', ttl: 600, supporterName: 'Thorsten', supporterAvatar: 'https://avatars.example/t.svg' });
    const context = await suite.browser.newContext({ locale: 'en-US' });
    try {
      await context.route(/^https:\/\/avatars\.example\//, (route) => route.fulfill({ status: 404, body: '' }));
      const page = await context.newPage();
      page.setDefaultTimeout(10_000);
      await page.goto(`${suite.url}/pairing/${created.PairingCode}`);
      await page.waitForLoadState('load');
      await page.keyboard.press('Enter');
      await page.keyboard.press('Space');
      await page.waitForTimeout(1_000);
      expect(new URL(page.url()).pathname).toBe(`/pairing/${created.PairingCode}`);
      expect((await sdk.getSession('keyjack')).State).not.toMatch(/confirmed|connected/);
      expect(await page.evaluate('document.activeElement && document.activeElement.tagName')).toBe('H1');
      // A person using the keyboard is one Tab away from Confirm.
      await page.keyboard.press('Tab');
      expect(await page.evaluate('document.activeElement && document.activeElement.textContent')).toBe('Confirm');
      await page.keyboard.press('Enter');
      await page.waitForURL(/\/support\//);
      await expect.poll(async () => (await sdk.getSession('keyjack')).State).toMatch(/confirmed|connected/);
    } finally {
      await context.close();
    }
  });
});
