import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { browserSkipReason } from '../../helpers/browser.js';
import { useBrowserApp } from '../../helpers/browser-app.js';
import { FakeMattermost, INSTALL_ENV, installationIdOf, Member, mattermostId } from './install-helpers.js';

const skip = browserSkipReason('the reload of a setup page in Chromium');

describe.skipIf(Boolean(skip))(`install door: reloading the setup page in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const password = 'resend password 1';
  const suite = useBrowserApp(INSTALL_ENV, {
    prepare: async (t) => {
      const admin = new Member(t.url);
      await admin.register('resend-browser-admin', password);
      await admin.createOrg('Reload Org');
    },
  });

  const signIn = async (page: Page) => {
    await page.goto(`${suite.url}/integrations`);
    await page.getByLabel('Username or e-mail').fill('resend-browser-admin');
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Organizations and chat' }).waitFor();
  };

  it('the browser re-sends the form on reload: the page says the setup was made and shown once, and the secret copied first still installs', async () => {
    const { page, problems } = await suite.newPage();
    // Accept the "send the form again?" question, as a person who clicks through it does.
    page.on('dialog', (dialog) => void dialog.accept());
    await signIn(page);
    await page.getByRole('button', { name: 'Set up Mattermost' }).click();
    await page.getByRole('heading', { name: 'Set up Mattermost' }).waitFor();
    const manifestLink = (await page.locator('#setup-manifest_link').textContent())!;
    const secret = (await page.locator('#setup-jwt_secret').textContent())!;

    const posts: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'POST' && request.url().endsWith('/mattermost/setup')) posts.push(request.url());
    });
    const reloaded = await page.reload();
    // The reload did send the form again (else this test would prove nothing).
    expect(posts).toHaveLength(1);
    expect(reloaded?.status()).toBe(409);
    await expect(page.getByRole('alert').textContent()).resolves.toContain('This setup was already made, when this form was first sent');
    expect(await page.locator('#setup-jwt_secret').count()).toBe(0);

    const installed = await new FakeMattermost(suite.url, { now: () => Date.now() }).install(installationIdOf(manifestLink), secret, { id: mattermostId('reloadadmin'), username: 'admin' });
    expect(installed.status).toBe(200);
    await page.getByRole('link', { name: 'Back' }).click();
    expect(await page.locator('ul.installations').textContent()).toContain('Mattermost: installed on https://chat.example.test');
    expect(problems).toEqual([]);
  });
});
