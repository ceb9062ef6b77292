import { describe, expect, it } from 'vitest';
import { browserSkipReason } from '../../helpers/browser.js';
import { useBrowserApp } from '../../helpers/browser-app.js';
import { FormClient } from '../access/form-client.js';

const skip = browserSkipReason();

describe.skipIf(Boolean(skip))(`the sign-in page after a wrong password, with the keyboard only${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const suite = useBrowserApp({ PAIRGATE_SCRYPT_COST: '10' });

  it('has the focus in the emptied password field, marked and described by the error, so typing the password again and Enter signs in', { timeout: 90_000 }, async () => {
    await new FormClient(suite.url).register('typo-person', 'the right password');
    const { page, problems } = await suite.newPage();
    await page.goto(`${suite.url}/account/signin?lang=fr`);
    // Chromium moves the focus to an autofocus field when it next renders, which may come after
    // the load event: a person sees the cursor there before typing, so the test waits for it too.
    await expect.poll(() => page.evaluate('document.activeElement && document.activeElement.id')).toBe('login');
    await page.keyboard.type('typo-person');
    await page.keyboard.press('Tab');
    await page.keyboard.type('the rihgt password');
    await page.keyboard.press('Enter');
    await page.waitForLoadState();
    expect(await page.locator('#form-error').textContent()).toBe('Nom d’utilisateur ou mot de passe incorrect.');

    await expect.poll(() => page.evaluate('document.activeElement && document.activeElement.id')).toBe('password');
    const password = page.getByLabel('Mot de passe');
    expect(await password.getAttribute('aria-invalid')).toBe('true');
    expect(await password.getAttribute('aria-describedby')).toBe('form-error');
    expect(await page.getByLabel('Nom d’utilisateur ou e-mail').inputValue()).toBe('typo-person');

    await page.keyboard.type('the right password');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/account\/accesses/);
    expect(problems).toEqual([]);
  });
});
