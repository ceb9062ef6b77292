import type { Locator, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { browserSkipReason } from '../helpers/browser.js';
import { useBrowserApp } from '../helpers/browser-app.js';

const skip = browserSkipReason();

/** How a navigation link looks: its weight and whether it is underlined. */
function looks(link: Locator): Promise<{ weight: string; line: string }> {
  return link.evaluate((element) => {
    // Run in the page, whose globals (getComputedStyle) the test's own types do not know.
    const page = globalThis as unknown as { getComputedStyle(of: unknown): { fontWeight: string; textDecorationLine: string } };
    const style = page.getComputedStyle(element);
    return { weight: style.fontWeight, line: style.textDecorationLine };
  });
}

/** Creates an account through the register page, in French, and lands on its accesses page. */
async function registerInFrench(page: Page, base: string, username: string): Promise<void> {
  await page.goto(`${base}/account/register?lang=fr`);
  await page.getByLabel('E-mail').fill(`${username}@example.test`);
  await page.getByLabel('Nom d’utilisateur').fill(username);
  await page.getByLabel('Mot de passe').fill('un mot de passe assez long');
  await page.getByRole('button', { name: 'Créer le compte' }).click();
  // With ?lang=fr when the browser asks for another language; without, when French is its own.
  await page.waitForURL((url) => url.pathname === '/account/accesses');
}

describe.skipIf(Boolean(skip))(`the navigation and the language switch, in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const suite = useBrowserApp({ PAIRGATE_SCRYPT_COST: '10' });

  it('the link of the page shown says so (aria-current) and looks it; following another moves the mark', async () => {
    // A browser set to French: the pages the nav opens are French too.
    const context = await suite.browser.newContext({ locale: 'fr-FR' });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    await registerInFrench(page, suite.url, 'nav-current');
    const nav = page.getByRole('navigation', { name: 'pairgate' });
    const accesses = nav.getByRole('link', { name: 'Accès des applications' });
    const password = nav.getByRole('link', { name: 'Mot de passe' });
    expect(await accesses.getAttribute('aria-current')).toBe('page');
    expect(await password.getAttribute('aria-current')).toBeNull();
    expect(await page.locator('[aria-current]').count()).toBe(1);
    expect(await looks(accesses)).toEqual({ weight: '700', line: 'underline' });
    expect(await looks(password)).toEqual({ weight: '500', line: 'none' });

    await password.click();
    await page.waitForURL(`${suite.url}/account/password`);
    expect(await nav.getByRole('link', { name: 'Mot de passe' }).getAttribute('aria-current')).toBe('page');
    expect(await nav.getByRole('link', { name: 'Accès des applications' }).getAttribute('aria-current')).toBeNull();
    await context.close();
  });

  it('the home page marks its own link, speaks the browser\'s French and switches to English', async () => {
    const context = await suite.browser.newContext({ locale: 'fr-FR' });
    try {
      const page = await context.newPage();
      await page.goto(`${suite.url}/`);
      expect(await page.getByRole('link', { name: 'pairgate', exact: true }).getAttribute('aria-current')).toBe('page');
      await page.getByRole('link', { name: 'Boîtiers sur votre réseau' }).waitFor();
      await page.getByRole('link', { name: 'English' }).click();
      await page.waitForURL(`${suite.url}/?lang=en`);
      const boxes = page.getByRole('link', { name: 'Boxes on your network' });
      // A bare link: the switch's choice is remembered (pg_lang), not carried in the address.
      expect(await boxes.getAttribute('href')).toBe('/boxes');
      await boxes.click();
      await page.waitForURL(`${suite.url}/boxes`);
      // The language chosen with the switch stays chosen on the page the link opens, over the browser's French.
      expect(await page.locator('html').getAttribute('lang')).toBe('en');
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Boxes on your network');
      // Not the page shown any more: the brand is a plain link again.
      expect(await page.getByRole('link', { name: 'pairgate', exact: true }).getAttribute('aria-current')).toBeNull();
    } finally {
      await context.close();
    }
  });

  it('a form\'s result page has the switch too: it opens the form\'s page in the other language, without sending the form again', async () => {
    const { page, problems } = await suite.newPage();
    await registerInFrench(page, suite.url, 'nav-switch');
    await page.goto(`${suite.url}/account/password?lang=fr`);
    await page.getByLabel('Mot de passe actuel').fill('pas le bon mot de passe');
    await page.getByLabel('Nouveau mot de passe').fill('un autre mot de passe long');
    const [answer] = await Promise.all([
      page.waitForResponse((response) => response.request().method() === 'POST' && new URL(response.url()).pathname === '/account/password'),
      page.getByRole('button', { name: 'Changer le mot de passe' }).click(),
    ]);
    expect(answer.status()).toBe(401);
    await page.getByRole('alert').waitFor();

    const posts: string[] = [];
    page.on('request', (request) => {
      if (request.method() !== 'GET') posts.push(request.url());
    });
    const english = page.getByRole('link', { name: 'English' });
    expect(await english.getAttribute('href')).toBe('/account/password?lang=en');
    await english.click();
    await page.waitForURL(`${suite.url}/account/password?lang=en`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Change your password');
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(posts).toEqual([]);
    expect(problems).toEqual([]);
  });
});
