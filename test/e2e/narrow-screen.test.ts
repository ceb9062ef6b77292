import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { browserSkipReason, launchBrowser } from '../helpers/browser.js';

const skip = browserSkipReason();

/** A small phone's viewport in CSS pixels: the width the pages must fit without scrolling sideways. */
const PHONE = { width: 360, height: 740 };

/** How far the page reaches past the viewport's right edge, in CSS pixels (0 when it fits). */
const overflow = (page: Page): Promise<number> => page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');

describe.skipIf(Boolean(skip))(`pages on a phone-width screen in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  beforeAll(async () => {
    // A device client makes the signed-in nav show all of its entries (Devices too): the widest it gets.
    t = await createTestApp({ PAIRGATE_DEVICE_CLIENTS: JSON.stringify({ tv: 'Living room TV' }) });
    base = await t.listen();
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('signed-in pages, with the full nav bar, fit 360 px in English and French (the nav wraps)', async () => {
    const page = await (await browser.newContext({ viewport: PHONE })).newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(`${base}/account/register`);
    await page.getByLabel('E-mail').fill('narrow@example.com');
    await page.getByLabel('Username').fill('narrow-screen');
    await page.getByLabel('Password').fill('narrow screen password');
    await page.getByRole('button', { name: 'Create the account' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    // The consent page is opened by apps, often as a popup on a phone.
    const request = await (await fetch(`${base}/access`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ requestingAppId: 'narrow-screen-app', requestedPermissions: [{ streamId: 'notes', level: 'read' }], deviceName: 'Phone' }),
    })).json() as { authUrl: string };
    const pages = ['/account/accesses', '/account/password', '/account/devices', '/integrations', request.authUrl];
    const widths: Record<string, number> = {};
    for (const path of pages) {
      for (const lang of ['en', 'fr']) {
        const url = new URL(path, base);
        url.searchParams.set('lang', lang);
        await page.goto(url.href);
        await page.locator('nav').getByRole('button').waitFor();
        widths[`${url.pathname} ${lang}`] = await overflow(page);
      }
    }
    expect(widths).toEqual(Object.fromEntries(Object.keys(widths).map((key) => [key, 0])));
  }, 60_000);

  it('a consent page naming a long unbroken app id and device (set by whoever asks) still fits 360 px: long words wrap', async () => {
    const page = await (await browser.newContext({ viewport: PHONE })).newPage();
    page.setDefaultTimeout(10_000);
    const request = await (await fetch(`${base}/access`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ requestingAppId: `app-${'x'.repeat(95)}`, requestedPermissions: [{ streamId: 'notes', level: 'read' }], deviceName: 'D'.repeat(200) }),
    })).json() as { authUrl: string };
    await page.goto(request.authUrl);
    await page.getByRole('heading').first().waitFor();
    expect(await page.content()).toContain('x'.repeat(95));
    expect(await overflow(page)).toBe(0);
  }, 60_000);
});
