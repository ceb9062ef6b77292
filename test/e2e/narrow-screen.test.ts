import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { initBoxIdentity } from '../../src/doors/registry/box-identity.js';
import { RegistryClient } from '../../src/sdk/registry.js';
import { useBrowserApp } from '../helpers/browser-app.js';
import { browserSkipReason } from '../helpers/browser.js';

const skip = browserSkipReason();

/** A small phone's viewport in CSS pixels: the width the pages must fit without scrolling sideways. */
const PHONE = { width: 360, height: 740 };

/** How far the page reaches past the viewport's right edge, in CSS pixels (0 when it fits). */
const overflow = (page: Page): Promise<number> => page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');

/** In-page helpers (strings, so the DOM types stay out of this Node project): WCAG contrast of colours as the browser computed them. */
const COLOUR_HELPERS = `
  const rgb = (value) => (value.match(/[\\d.]+/g) || []).map(Number);
  const lum = (c) => c.slice(0, 3).map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }).reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const background = (start) => {
    for (let e = start; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c.length === 3 || c[3] > 0.5) return c; }
    return [255, 255, 255];
  };
  const name = (el) => el.tagName.toLowerCase() + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '') + ' "' + (el.textContent || el.getAttribute('name') || '').trim().replace(/\\s+/g, ' ').slice(0, 30) + '"';
`;

/** Every visible text below WCAG AA against what is behind it: 4.5:1, or 3:1 for large text (24 px, or 18.66 px bold). Disabled controls are exempt, as WCAG exempts them. */
const LOW_CONTRAST = `(() => {${COLOUR_HELPERS}
  const low = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (!Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
    const style = getComputedStyle(el);
    if (!el.getClientRects().length || style.visibility !== 'visible' || el.closest(':disabled, noscript')) continue;
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    const r = ratio(rgb(style.color), background(el));
    if (r < (large ? 3 : 4.5)) low.push(name(el) + ' ' + r.toFixed(2));
  }
  return low;
})()`;

/** The focused element's ring: its style, width, and contrast with what is around it (WCAG 1.4.11: 3:1). */
const FOCUS_RING = `(() => {${COLOUR_HELPERS}
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  return { what: name(el), style: style.outlineStyle, width: parseFloat(style.outlineWidth), contrast: Number(ratio(rgb(style.outlineColor), background(el.parentElement)).toFixed(2)) };
})()`;

/** Signs a new account up in `context`, so its pages show the signed-in nav. */
async function signUp(context: BrowserContext, base: string, username: string): Promise<Page> {
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  await page.goto(`${base}/account/register?lang=en`);
  await page.getByLabel('E-mail').fill(`${username}@example.com`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill('narrow screen password');
  await page.getByRole('button', { name: 'Create the account' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  return page;
}

describe.skipIf(Boolean(skip))(`pages on a phone-width screen in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  // A device client makes the signed-in nav show all of its entries (Devices too): the widest it gets.
  const suite = useBrowserApp(
    { PAIRGATE_DEVICE_CLIENTS: JSON.stringify({ tv: 'Living room TV' }) },
    {
      prepare: async (t) => {
        // A box, whose 52-character fingerprint is one unbroken word on the boxes page.
        const box = await initBoxIdentity(join(mkdtempSync(join(tmpdir(), 'pairgate-narrow-box-')), 'box'), { name: 'Narrow box' });
        await new RegistryClient({ baseUrl: t.url }).announce(box, { fingerprint: box.fingerprint, local_origin: 'https://192.168.5.5:4443', name: 'Living room' });
      },
    },
  );

  it('signed-in pages, with the full nav bar, fit 360 px in English and French (the nav wraps)', async () => {
    const page = await (await suite.browser.newContext({ viewport: PHONE })).newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(`${suite.url}/account/register`);
    await page.getByLabel('E-mail').fill('narrow@example.com');
    await page.getByLabel('Username').fill('narrow-screen');
    await page.getByLabel('Password').fill('narrow screen password');
    await page.getByRole('button', { name: 'Create the account' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    // The consent page is opened by apps, often as a popup on a phone.
    const request = await (await fetch(`${suite.url}/access`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ requestingAppId: 'narrow-screen-app', requestedPermissions: [{ streamId: 'notes', level: 'read' }], deviceName: 'Phone' }),
    })).json() as { authUrl: string };
    const pages = ['/account/accesses', '/account/password', '/account/devices', '/integrations', request.authUrl];
    const widths: Record<string, number> = {};
    for (const path of pages) {
      for (const lang of ['en', 'fr']) {
        const url = new URL(path, suite.url);
        url.searchParams.set('lang', lang);
        await page.goto(url.href);
        await page.locator('nav').getByRole('button').waitFor();
        widths[`${url.pathname} ${lang}`] = await overflow(page);
      }
    }
    expect(widths).toEqual(Object.fromEntries(Object.keys(widths).map((key) => [key, 0])));
  }, 60_000);

  it('a consent page naming a long unbroken app id and device (set by whoever asks) still fits 360 px: long words wrap', async () => {
    const page = await (await suite.browser.newContext({ viewport: PHONE })).newPage();
    page.setDefaultTimeout(10_000);
    const request = await (await fetch(`${suite.url}/access`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ requestingAppId: `app-${'x'.repeat(95)}`, requestedPermissions: [{ streamId: 'notes', level: 'read' }], deviceName: 'D'.repeat(200) }),
    })).json() as { authUrl: string };
    await page.goto(request.authUrl);
    await page.getByRole('heading').first().waitFor();
    expect(await page.content()).toContain('x'.repeat(95));
    expect(await overflow(page)).toBe(0);
  }, 60_000);

  it('the pages met before signing in (home, sign-in, register, reset, the support code with its error, boxes, the error page) fit 360 px in English and French', async () => {
    const page = await (await suite.browser.newContext({ viewport: PHONE })).newPage();
    page.setDefaultTimeout(10_000);
    const widths: Record<string, number> = {};
    for (const lang of ['en', 'fr']) {
      for (const path of ['/', '/account/signin', '/account/register', '/account/reset', '/boxes', '/no/such/page']) {
        await page.goto(`${suite.url}${path}?lang=${lang}`);
        await page.getByRole('heading').first().waitFor();
        widths[`${path} ${lang}`] = await overflow(page);
      }
      await page.goto(`${suite.url}/relay/?lang=${lang}`);
      await page.getByRole('textbox').fill('zzzzzz');
      await page.getByRole('button').first().click();
      await page.getByRole('alert').waitFor();
      widths[`/relay/ with an error ${lang}`] = await overflow(page);
    }
    expect(await page.goto(`${suite.url}/boxes`).then(() => page.locator('ul.boxes code').count())).toBe(1);
    expect(widths).toEqual(Object.fromEntries(Object.keys(widths).map((key) => [key, 0])));
  }, 60_000);

  it('text meets WCAG AA contrast in light and dark colour schemes, on pages signed out and in', async () => {
    const low: Record<string, string[]> = {};
    for (const colorScheme of ['light', 'dark'] as const) {
      const context = await suite.browser.newContext({ viewport: PHONE, colorScheme });
      const page = await context.newPage();
      page.setDefaultTimeout(10_000);
      for (const path of ['/', '/boxes', '/no/such/page', '/account/signin?lang=fr']) {
        await page.goto(`${suite.url}${path}`);
        low[`${path} ${colorScheme}`] = await page.evaluate<string[]>(LOW_CONTRAST);
      }
      await page.goto(`${suite.url}/relay/`);
      await page.getByRole('textbox').fill('zzzzzz');
      await page.getByRole('button').first().click();
      await page.getByRole('alert').waitFor();
      low[`/relay/ with an error ${colorScheme}`] = await page.evaluate<string[]>(LOW_CONTRAST);
      const signedIn = await signUp(context, suite.url, `contrast-${colorScheme}`);
      await signedIn.goto(`${suite.url}/integrations`);
      await signedIn.getByLabel(/Organization name/).fill('Contrast');
      await signedIn.getByRole('button', { name: 'Create', exact: true }).click();
      await signedIn.getByRole('status').waitFor();
      low[`/integrations ${colorScheme}`] = await signedIn.evaluate<string[]>(LOW_CONTRAST);
      await signedIn.goto(`${suite.url}/device`);
      await signedIn.getByRole('textbox').fill('BBBB-BBBB');
      await signedIn.locator('main').getByRole('button').click();
      await signedIn.getByRole('alert').waitFor();
      low[`/device with an error ${colorScheme}`] = await signedIn.evaluate<string[]>(LOW_CONTRAST);
      await context.close();
    }
    expect(low).toEqual(Object.fromEntries(Object.keys(low).map((key) => [key, []])));
  }, 60_000);

  it('every link, button and field shows a focus ring to keyboard users: solid, 2 px at least, 3:1 against its surroundings, light and dark', async () => {
    const rings: Record<string, { what: string; style: string; width: number; contrast: number }> = {};
    for (const colorScheme of ['light', 'dark'] as const) {
      const context = await suite.browser.newContext({ viewport: PHONE, colorScheme });
      const page = await signUp(context, suite.url, `focus-${colorScheme}`);
      for (const path of ['/integrations', '/account/password', '/']) {
        await page.goto(`${suite.url}${path}`);
        await page.locator('body').focus();
        for (let i = 0; i < 25; i++) {
          await page.keyboard.press('Tab');
          const ring = await page.evaluate<{ what: string; style: string; width: number; contrast: number } | null>(FOCUS_RING);
          if (ring) rings[`${path} ${colorScheme} ${ring.what}`] = ring;
        }
      }
      await context.close();
    }
    expect(Object.keys(rings).length).toBeGreaterThan(10);
    const weak = Object.entries(rings).filter(([, ring]) => ring.style === 'none' || ring.width < 2 || ring.contrast < 3);
    expect(weak).toEqual([]);
  }, 60_000);

  it('the first Tab shows a skip link, in the page\'s language, that moves the focus past the header to the content', async () => {
    const page = await (await suite.browser.newContext({ viewport: PHONE })).newPage();
    page.setDefaultTimeout(10_000);
    for (const [lang, words] of [['en', 'Skip to content'], ['fr', 'Aller au contenu']] as const) {
      // The error page: no field takes the focus on its own.
      await page.goto(`${suite.url}/no/such/page?lang=${lang}`);
      const skip = page.getByRole('link', { name: words });
      // Out of sight until reached: above the top of the page.
      await skip.waitFor({ state: 'attached' });
      expect(await page.evaluate<number>("document.querySelector('a[href=\"#main\"]').getBoundingClientRect().bottom")).toBeLessThanOrEqual(0);
      await page.locator('body').focus();
      await page.keyboard.press('Tab');
      expect(await page.evaluate<string>('document.activeElement.textContent')).toBe(words);
      expect(await page.evaluate<number>('document.activeElement.getBoundingClientRect().top')).toBeGreaterThanOrEqual(0);
      await page.keyboard.press('Enter');
      expect(await page.evaluate<string>('document.activeElement.id')).toBe('main');
    }
  }, 60_000);
});
