import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { browserSkipReason, settledForDecision } from '../../helpers/browser.js';
import { authorize, DEVICE_ENV } from '../device/device-helpers.js';
import { authRequest, getJson, postJson } from './form-client.js';
import { launchSiteBrowser, SITE_DOMAIN } from './sibling-site.js';

const skip = browserSkipReason('the tests of people arriving at the pages from another site');

/**
 * People reach pairgate's pages from other sites: an app's page opens /access/auth, a device's
 * instructions link to /device. pairgate is reached as `auth.pairgate.localhost` and the app's
 * site as `127.0.0.1`, two sites to Chromium, which sends a SameSite=Strict cookie on neither a
 * link's navigation nor its redirect. The CSRF cookie was Strict: such an arrival set a new token
 * over the old one, so the forms open in the person's other tabs failed (403 csrf_failed), and the
 * consent screen of a typed device code, bound to the browser by that cookie, was gone (404).
 */
describe.skipIf(Boolean(skip))(`arriving from another site, in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let t: TestApp;
  let pairgate = '';
  let browser: Browser;
  let appSite: Server;
  let appBase = '';

  beforeAll(async () => {
    t = await createTestApp(DEVICE_ENV);
    pairgate = (await t.listen()).replace('127.0.0.1', `auth.${SITE_DOMAIN}`);
    // The other site: `/link?to=<url>` is a page with a link to `url`, which the person follows.
    appSite = createServer((request, response) => {
      const to = new URL(request.url ?? '/', 'http://app.invalid').searchParams.get('to') ?? '';
      const href = to.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html><title>the app</title><a id="go" href="${href}">Connect with pairgate</a>`);
    });
    await new Promise<void>((resolve) => appSite.listen(0, '127.0.0.1', resolve));
    appBase = `http://127.0.0.1:${(appSite.address() as AddressInfo).port}`;
    browser = await launchSiteBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (appSite ? appSite.close(() => resolve()) : resolve()));
    await t?.close();
  });

  /** A fresh browser, registered and signed in to pairgate as `username`. */
  const signedIn = async (username: string): Promise<{ context: BrowserContext; page: Page }> => {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(`${pairgate}/account/register`);
    await page.fill('#username', username);
    await page.fill('#email', `${username}@example.test`);
    await page.fill('#password', 'arrival password 1');
    await page.click('button[type=submit]');
    await page.waitForURL(/\/account\/accesses/);
    return { context, page };
  };

  /** Opens `url` in a new tab of `context` by following a link on the other site. */
  const followLinkFromAppSite = async (context: BrowserContext, url: string): Promise<Page> => {
    const tab = await context.newPage();
    tab.setDefaultTimeout(10_000);
    await tab.goto(`${appBase}/link?to=${encodeURIComponent(url)}`);
    await Promise.all([tab.waitForURL((target) => target.href.startsWith(pairgate)), tab.click('#go')]);
    await tab.waitForLoadState('load');
    return tab;
  };

  const csrfCookie = async (context: BrowserContext) => (await context.cookies(pairgate)).find((cookie) => cookie.name === 'pg_csrf');

  it('an auth page opened from the app\'s site keeps the consent screen open in another tab working', async () => {
    const { context, page } = await signedIn('arriving-user');
    const first = String((await postJson(`${t.url}/access`, authRequest({ requestingAppId: 'first-tab-app' }))).body.key);
    await page.goto(`${pairgate}/access/auth?key=${first}`);
    const before = await csrfCookie(context);

    // Meanwhile the person starts another app's flow from that app's site, in a second tab.
    const second = String((await postJson(`${t.url}/access`, authRequest({ requestingAppId: 'second-tab-app' }))).body.key);
    const tab = await followLinkFromAppSite(context, `${pairgate}/access/auth?key=${second}`);
    expect(await tab.content()).toContain('second-tab-app');
    expect((await csrfCookie(context))?.value).toBe(before?.value);

    // Both consent screens still accept.
    await settledForDecision(page);
    await page.click('button[value=accept]');
    await page.waitForSelector('#outcome');
    expect((await getJson(`${t.url}/access/${first}`)).body.status).toBe('ACCEPTED');
    await settledForDecision(tab);
    await tab.click('button[value=accept]');
    await tab.waitForSelector('#outcome');
    expect((await getJson(`${t.url}/access/${second}`)).body.status).toBe('ACCEPTED');
    expect(await csrfCookie(context)).toMatchObject({ value: before?.value, sameSite: 'Lax', httpOnly: true });
    await context.close();
  });

  it('the consent screen of a typed device code opens from a link on another site, as it does here', async () => {
    const { context, page } = await signedIn('arriving-device-user');
    const device = (await authorize(t.app)).body;
    await page.goto(`${pairgate}/device`);
    await page.fill('#user_code', String(device.user_code));
    await Promise.all([page.waitForURL(/\/device\/consent\?request=/), page.click('form[action="/device"] button[type=submit]')]);
    const consent = page.url();

    // The same screen, reached through another site's link (a mail, the device's help page).
    const tab = await followLinkFromAppSite(context, consent);
    expect(await tab.content()).toContain('value="approve"');
    await settledForDecision(tab);
    await tab.click('button[value=approve]');
    await tab.waitForSelector('[data-outcome=approved]');
    await context.close();
  });
});
