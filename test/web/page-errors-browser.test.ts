import { describe, expect, it } from 'vitest';
import { browserSkipReason } from '../helpers/browser.js';
import { useBrowserApp } from '../helpers/browser-app.js';

const skip = browserSkipReason();

describe.skipIf(Boolean(skip))(`a form refused by its schema, in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const suite = useBrowserApp();

  it('a field edited in devtools past its limit shows the error page (HTML, in the page language), not JSON', async () => {
    const { page, problems } = await suite.newPage();
    await page.goto(`${suite.url}/device?lang=fr`);
    // What a person does in devtools: lift the field's limit and type far more than a code.
    await page.locator('#user_code').evaluate((input) => input.removeAttribute('maxlength'));
    await page.locator('#user_code').fill('X'.repeat(150));
    const [answer] = await Promise.all([page.waitForResponse((response) => response.url() === `${suite.url}/device` && response.request().method() === 'POST'), page.locator('#user_code').press('Enter')]);
    expect(answer.status()).toBe(400);
    expect(answer.headers()['content-type']).toBe('text/html; charset=utf-8');
    await page.getByRole('heading', { name: 'Ce formulaire n’a pas pu être accepté' }).waitFor();
    expect(await page.getByRole('alert').textContent()).toBe('Le champ «\u00a0user_code\u00a0» du formulaire contient une valeur que cette page n’accepte pas (trop longue, ou qui n’est pas l’un de ses choix). Rechargez la page et remplissez à nouveau le formulaire.');
    expect(await page.locator('html').getAttribute('lang')).toBe('fr');
    expect(await page.locator('body').textContent()).not.toContain('validation_failed');
    // The way back is the form again, in French.
    await page.getByRole('link', { name: 'Revenir à la page' }).click();
    await page.locator('#user_code').waitFor();
    expect(new URL(page.url()).search).toBe('?lang=fr');
    expect(problems).toEqual([]);
  });
});
