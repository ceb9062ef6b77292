import { describe, expect, it } from 'vitest';
import { browserSkipReason } from '../../helpers/browser.js';
import { useBrowserApp } from '../../helpers/browser-app.js';
import { authRequest, FormClient, postJson } from './form-client.js';

const skip = browserSkipReason('the access door browser tests');
const PASSWORD = 'error ways password 1';
const APP = 'error-ways-app';

/**
 * The ways out of the access door's error pages: the auth page whose address names no request it
 * can show links to the home page (never to a return URL its query names), and the accesses page's
 * refused Revoke offers the language switch, to the accesses page, without sending the form again.
 */
describe.skipIf(Boolean(skip))(`ways out of the access door's error pages, in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const suite = useBrowserApp({ PAIRGATE_SCRYPT_COST: '10' }, {
    prepare: async (t) => {
      const person = new FormClient(t.url);
      await person.register('error-ways', PASSWORD);
      const created = await postJson(`${t.url}/access`, authRequest({ requestingAppId: APP }));
      expect((await person.decide(String(created.body.key), 'accept')).status).toBe(200);
    },
  });

  it('an auth page whose address is refused (400) links to the home page, in the page\'s language, and to no return URL its query names', async () => {
    const { page, problems } = await suite.newPage();
    const answer = await page.goto(`${suite.url}/access/auth?lang=fr&returnURL=${encodeURIComponent('https://evil.example/')}&key=${'a'.repeat(300)}`);
    expect(answer?.status()).toBe(400);
    await page.getByRole('heading', { name: 'Ce lien ne fonctionne pas' }).waitFor();
    expect(await page.locator('main a[href*="evil"]').count()).toBe(0);
    expect(await page.locator('main a').count()).toBe(1);
    await page.getByRole('link', { name: 'Aller à la page d’accueil' }).click();
    await page.waitForURL(`${suite.url}/`);
    // Bare: the home page speaks the person's language, the app's link named French.
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    expect(problems).toEqual([]);
    // A program asking the same address still gets the route's JSON error.
    const program = await suite.t.app.inject({ url: `/access/auth?key=${'a'.repeat(300)}`, headers: { accept: 'application/json' } });
    expect(program.statusCode).toBe(400);
    expect(program.headers['content-type']).toContain('application/json');
    expect(program.body).toContain('validation_failed');
  });

  it('an auth page whose key is missing or names no request (404) links to the home page too', async () => {
    const { page } = await suite.newPage();
    for (const query of ['', '?key=not-a-key', `?key=${'b'.repeat(65)}&returnURL=${encodeURIComponent('https://evil.example/')}`]) {
      const answer = await page.goto(`${suite.url}/access/auth${query}`);
      expect(answer?.status()).toBe(404);
      expect(await page.locator('main a[href*="evil"]').count()).toBe(0);
      expect(await page.getByRole('link', { name: 'Go to the home page' }).getAttribute('href')).toBe('/');
    }
    await page.getByRole('link', { name: 'Go to the home page' }).click();
    await page.waitForURL(`${suite.url}/`);
  });

  it('a Revoke refused for its stale token offers the language switch, which opens the accesses page in the other language without revoking', async () => {
    const { page } = await suite.newPage();
    await page.goto(`${suite.url}/account/signin?lang=en`);
    await page.getByLabel('Username or e-mail').fill('error-ways');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/account\/accesses/);
    // A token gone stale in the page (what a new CSRF cookie since leaves behind).
    await page.locator('ul.accesses input[name="_csrf"]').first().evaluate((input) => ((input as unknown as { value: string }).value = 'a-stale-token'));
    const [refused] = await Promise.all([page.waitForResponse((response) => response.request().method() === 'POST'), page.getByRole('button', { name: `Revoke ${APP}` }).click()]);
    expect(refused.status()).toBe(403);
    await page.getByRole('alert').waitFor();
    const posts: string[] = [];
    page.on('request', (request) => {
      if (request.method() !== 'GET') posts.push(request.url());
    });
    await page.getByRole('link', { name: 'Français' }).click();
    await page.waitForURL(`${suite.url}/account/accesses?lang=fr`);
    expect(await page.locator('html').getAttribute('lang')).toBe('fr');
    expect(posts).toEqual([]);
    // Not revoked: the form was not sent again.
    expect(await page.getByRole('button', { name: `Révoquer ${APP}` }).count()).toBe(1);
  });
});
