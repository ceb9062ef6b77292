import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomToken } from '../../../src/core/ids.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { missingProgram } from '../../helpers/system.js';
import { authRequest, FormClient, getJson, postJson } from './form-client.js';
import { launchSiteBrowser, SiblingSite, SITE_DOMAIN } from './sibling-site.js';

const skip = missingProgram('chromium', 'the cross-site request forgery tests of the account and access pages');

/**
 * A sibling subdomain (evil.pairgate.localhost next to auth.pairgate.localhost) is the same site: its form
 * posts carry the SameSite session cookie, and it can plant a CSRF cookie of its choosing for the
 * whole domain and post the same value in the form, so the double-submit token alone does not
 * tell its forms from pairgate's. The browser's own word (Fetch Metadata, Origin) does.
 */
describe.skipIf(skip)('forms posted by a sibling subdomain, in Chromium', () => {
  let t: TestApp;
  let pairgate: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const evil = new SiblingSite();

  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_SCRYPT_COST: '10' });
    const base = await t.listen();
    pairgate = base.replace('127.0.0.1', `auth.${SITE_DOMAIN}`);
    await evil.start();
    browser = await launchSiteBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await evil.stop();
    await t?.close();
  });

  /** A fresh victim browser, signed in to pairgate as `username`. */
  const signedInVictim = async (username: string) => {
    context = await browser.newContext();
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(`${pairgate}/account/register`);
    await page.fill('#username', username);
    await page.fill('#email', `${username}@example.test`);
    await page.fill('#password', 'victim password 1');
    await page.click('button[type=submit]');
    await page.waitForURL(/\/account\/accesses/);
  };

  it('a sibling cannot make a signed-in user accept an auth request (the attacker would poll the token)', async () => {
    await signedInVictim('sibling-victim');
    const key = String((await postJson(`${t.url}/access`, authRequest({ requestingAppId: 'evil-app-id' }))).body.key);
    const planted = randomToken();
    await page.goto(evil.page({ action: `${pairgate}/access/auth/decide`, fields: { _csrf: planted, key, decision: 'accept' }, cookie: { name: 'pg_csrf', value: planted, path: '/access' } }));
    await page.waitForLoadState('load');
    const poll = await getJson(`${t.url}/access/${key}`);
    expect(poll.body.status).toBe('NEED_SIGNIN');
    expect(poll.body.token).toBeUndefined();
    await context.close();
  });

  it('a sibling cannot sign a visitor in to the attacker\'s account (login CSRF)', async () => {
    await new FormClient(t.url).register('sibling-attacker', 'attacker password 1');
    await signedInVictim('sibling-victim-2');
    const planted = randomToken();
    await page.goto(evil.page({ action: `${pairgate}/account/signin`, fields: { _csrf: planted, login: 'sibling-attacker', password: 'attacker password 1' }, cookie: { name: 'pg_csrf', value: planted, path: '/account' } }));
    await page.waitForLoadState('load');
    await page.goto(`${pairgate}/account/accesses`);
    expect(await page.content()).toContain('sibling-victim-2');
    expect(await page.content()).not.toContain('sibling-attacker');
    await context.close();
  });

  it('pairgate\'s own forms still work in that browser', async () => {
    await signedInVictim('sibling-victim-3');
    const key = String((await postJson(`${t.url}/access`, authRequest({ requestingAppId: 'real-app-id' }))).body.key);
    await page.goto(`${pairgate}/access/auth?key=${key}`);
    await page.click('button[value=accept]');
    await page.waitForSelector('#outcome');
    expect((await getJson(`${t.url}/access/${key}`)).body.status).toBe('ACCEPTED');
    await context.close();
  });
});
