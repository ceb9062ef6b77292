import { describe, expect, it } from 'vitest';
import { browserSkipReason } from '../../helpers/browser.js';
import { useBrowserApp } from '../../helpers/browser-app.js';

const skip = browserSkipReason();

describe.skipIf(Boolean(skip))(`account pages in Chromium, as a person${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const suite = useBrowserApp({ PAIRGATE_SCRYPT_COST: '10' });

  it('a refused registration puts the focus on the field at fault, marked and described by the error; the person stays in French to the end', async () => {
    const { page, problems } = await suite.newPage();
    await page.setViewportSize({ width: 320, height: 700 });
    await page.goto(`${suite.url}/account/register?lang=fr`);
    await page.getByLabel('E-mail').fill('marie@example.test');
    await page.getByLabel('Nom d’utilisateur').fill('ma');
    await page.getByLabel('Mot de passe').fill('un mot de passe assez long');
    await page.getByRole('button', { name: 'Créer le compte' }).click();

    const username = page.getByLabel('Nom d’utilisateur');
    await expect.poll(() => page.evaluate('document.activeElement && document.activeElement.id')).toBe('username');
    expect(await username.getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByLabel('E-mail').getAttribute('aria-invalid')).toBeNull();
    const describedBy = (await username.getAttribute('aria-describedby')) ?? '';
    const description = (await Promise.all(describedBy.split(' ').map((id) => page.locator(`#${id}`).textContent()))).join(' ');
    expect(description).toContain('Le nom d’utilisateur doit avoir 5 à 60 caractères');

    // Typed straight into the focused field, as a person would.
    await username.fill('marie-curie');
    await page.getByLabel('Mot de passe').fill('un mot de passe assez long');
    await page.getByRole('button', { name: 'Créer le compte' }).click();
    // Bare addresses: the language chosen with ?lang=fr is remembered (pg_lang), the pages stay French.
    await page.waitForURL(`${suite.url}/account/accesses`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Accès des applications');
    await page.getByRole('button', { name: 'Se déconnecter' }).click();
    await page.waitForURL(`${suite.url}/account/signin`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Connexion');
    expect(problems).toEqual([]);
  });

  it('several fields wrong at once are said at once: each marked, the first focused, every reason in the alert', async () => {
    const { page, problems } = await suite.newPage();
    await page.goto(`${suite.url}/account/register`);
    await page.getByLabel('E-mail').fill('not-an-email');
    await page.getByLabel('Username').fill('ab');
    await page.getByLabel('Password').fill('short');
    await page.getByRole('button', { name: 'Create the account' }).click();
    await expect.poll(() => page.evaluate('document.activeElement && document.activeElement.id')).toBe('email');
    for (const label of ['E-mail', 'Username', 'Password']) expect(await page.getByLabel(label).getAttribute('aria-invalid'), label).toBe('true');
    const alert = (await page.getByRole('alert').textContent()) ?? '';
    expect(alert).toContain('The e-mail address is not valid.');
    expect(alert).toContain('The username must');
    expect(alert).toContain('The password must');
    expect(problems).toEqual([]);
  });
});
