import { describe, expect, it } from 'vitest';
import { browserSkipReason } from '../helpers/browser.js';
import { useBrowserApp } from '../helpers/browser-app.js';

const skip = browserSkipReason();

/** What a person meets at an address that is not served under the method their browser used (405), in their language. */
describe.skipIf(Boolean(skip))(`the 405 error page in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const suite = useBrowserApp();

  it('a French browser sending a form to a page that only shows, or opening a form’s address as a link, reads French', async () => {
    const context = await suite.browser.newContext({ locale: 'fr-FR' });
    try {
      const page = await context.newPage();
      page.setDefaultTimeout(10_000);
      // A form sent to a page served only under GET (as a stale or hand-made form would).
      await page.goto(`${suite.url}/account/signin`);
      expect(await page.locator('html').getAttribute('lang')).toBe('fr');
      const [answer] = await Promise.all([
        page.waitForResponse((response) => response.url() === `${suite.url}/account/devices` && response.request().method() === 'POST'),
        page.evaluate(`(() => {
          const form = document.createElement('form');
          form.method = 'post';
          form.action = '/account/devices';
          document.body.append(form);
          form.submit();
        })()`),
      ]);
      expect(answer.status()).toBe(405);
      expect(answer.headers().allow).toBe('GET, HEAD, OPTIONS');
      await page.getByRole('heading', { name: 'Cette adresse ne s’ouvre pas de cette façon' }).waitFor();
      expect(await page.locator('html').getAttribute('lang')).toBe('fr');
      expect(await page.getByRole('alert').textContent()).toBe(
        'Votre navigateur a atteint cette adresse d’une façon à laquelle elle ne répond pas\u00a0: l’adresse d’un formulaire ouverte comme un lien, ou un formulaire envoyé à une adresse qui ne fait qu’afficher une page. Revenez là d’où vous venez et réessayez depuis cet endroit.',
      );
      expect(await page.locator('body').textContent()).not.toMatch(/method_not_allowed|is not allowed/);

      // A form's address (served only under POST) opened as a link.
      const opened = await page.goto(`${suite.url}/device/signin`);
      expect(opened?.status()).toBe(405);
      await page.getByRole('heading', { name: 'Cette adresse ne s’ouvre pas de cette façon' }).waitFor();
    } finally {
      await context.close();
    }
  });

  it('an English browser reads the same in English', async () => {
    const { page, problems } = await suite.newPage();
    const opened = await page.goto(`${suite.url}/device/signin`);
    expect(opened?.status()).toBe(405);
    await page.getByRole('heading', { name: 'This address cannot be opened this way' }).waitFor();
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    expect(await page.getByRole('alert').textContent()).toContain('a form’s address opened as a link');
    expect(problems).toEqual([]);
  });
});
