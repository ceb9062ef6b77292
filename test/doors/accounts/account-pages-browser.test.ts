import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { browserSkipReason, launchBrowser, newWatchedPage } from '../../helpers/browser.js';

describe.skipIf(browserSkipReason())('account pages in Chromium, as a person', () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_SCRYPT_COST: '10' });
    base = await t.listen();
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('a refused registration puts the focus on the field at fault, marked and described by the error; the person stays in French to the end', async () => {
    const { page, problems } = await newWatchedPage(browser);
    await page.setViewportSize({ width: 320, height: 700 });
    await page.goto(`${base}/account/register?lang=fr`);
    await page.getByLabel('E-mail').fill('marie@example.test');
    await page.getByLabel('Nom d\'utilisateur').fill('ma');
    await page.getByLabel('Mot de passe').fill('un mot de passe assez long');
    await page.getByRole('button', { name: 'Créer le compte' }).click();

    const username = page.getByLabel('Nom d\'utilisateur');
    await expect.poll(() => page.evaluate('document.activeElement && document.activeElement.id')).toBe('username');
    expect(await username.getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByLabel('E-mail').getAttribute('aria-invalid')).toBeNull();
    const describedBy = (await username.getAttribute('aria-describedby')) ?? '';
    const description = (await Promise.all(describedBy.split(' ').map((id) => page.locator(`#${id}`).textContent()))).join(' ');
    expect(description).toContain('Le nom d\'utilisateur doit avoir 5 à 60 caractères');

    // Typed straight into the focused field, as a person would.
    await username.fill('marie-curie');
    await page.getByLabel('Mot de passe').fill('un mot de passe assez long');
    await page.getByRole('button', { name: 'Créer le compte' }).click();
    await page.waitForURL(`${base}/account/accesses?lang=fr`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Accès des applications');
    await page.getByRole('button', { name: 'Se déconnecter' }).click();
    await page.waitForURL(`${base}/account/signin?lang=fr`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Connexion');
    expect(problems).toEqual([]);
  });
});
