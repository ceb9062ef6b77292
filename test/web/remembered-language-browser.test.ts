import type { BrowserContext, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { useBrowserApp } from '../helpers/browser-app.js';
import { browserSkipReason, watchProblems } from '../helpers/browser.js';

const skip = browserSkipReason('the remembered page language in Chromium');

/** The text of the page's main heading. */
function heading(page: Page): Promise<string | null> {
  return page.getByRole('heading', { level: 1 }).textContent();
}

describe.skipIf(Boolean(skip))(`a language chosen with the switch stays chosen through the navigation, in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const app = useBrowserApp({ PAIRGATE_SCRYPT_COST: '10' });

  /** A page in a fresh context of an English browser, with its console problems collected. */
  async function englishPage(): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
    const context = await app.browser.newContext({ locale: 'en-US' });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    return { context, page, problems: watchProblems(page) };
  }

  it('French picked on the account pages holds on the page a navigation link opens, whose address stays bare', async () => {
    const { context, page, problems } = await englishPage();
    const base = app.url;
    try {
      await page.goto(`${base}/account/register`);
      await page.getByLabel('E-mail').fill('remembered@example.test');
      await page.getByLabel('Username').fill('remembered-fr');
      await page.getByLabel('Password').fill('a long enough password');
      await page.getByRole('button', { name: 'Create the account' }).click();
      await page.waitForURL(`${base}/account/accesses`);
      expect(await heading(page)).toBe('App accesses');

      await page.getByRole('link', { name: 'Français' }).click();
      await page.waitForURL(`${base}/account/accesses?lang=fr`);
      expect(await heading(page)).toBe('Accès des applications');

      const password = page.getByRole('navigation', { name: 'pairgate' }).getByRole('link', { name: 'Mot de passe' });
      expect(await password.getAttribute('href')).toBe('/account/password');
      await password.click();
      await page.waitForURL(`${base}/account/password`);
      expect(await heading(page)).toBe('Changer votre mot de passe');
      expect(await page.locator('html').getAttribute('lang')).toBe('fr');

      // Back to English with the switch: that choice is remembered in turn.
      await page.getByRole('link', { name: 'English' }).click();
      await page.waitForURL(`${base}/account/password?lang=en`);
      await page.getByRole('navigation', { name: 'pairgate' }).getByRole('link', { name: 'App accesses' }).click();
      await page.waitForURL(`${base}/account/accesses`);
      expect(await heading(page)).toBe('App accesses');
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('French picked on the boxes page holds on the home page the brand link opens, and on the pages it links to', async () => {
    const { context, page, problems } = await englishPage();
    const base = app.url;
    try {
      await page.goto(`${base}/boxes`);
      expect(await heading(page)).toBe('Boxes on your network');
      await page.getByRole('link', { name: 'Français' }).click();
      await page.waitForURL(`${base}/boxes?lang=fr`);
      expect(await heading(page)).toBe('Boîtiers sur votre réseau');

      await page.getByRole('link', { name: 'pairgate', exact: true }).click();
      await page.waitForURL(`${base}/`);
      expect(await page.locator('html').getAttribute('lang')).toBe('fr');
      const boxes = page.getByRole('link', { name: 'Boîtiers sur votre réseau' });
      expect(await boxes.getAttribute('href')).toBe('/boxes');
      await boxes.click();
      await page.waitForURL(`${base}/boxes`);
      expect(await heading(page)).toBe('Boîtiers sur votre réseau');
      // The choice is a cookie of this site only, which no script of the page can read.
      const cookies = await context.cookies(base);
      expect(cookies.filter((cookie) => cookie.name === 'pg_lang')).toMatchObject([{ value: 'fr', path: '/', httpOnly: true, sameSite: 'Lax' }]);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
