import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { browserSkipReason } from '../../helpers/browser.js';
import { useBrowserApp } from '../../helpers/browser-app.js';
import { INSTALL_ENV, Member } from './install-helpers.js';

const skip = browserSkipReason('the layout tests of the install pages (dates, names set apart)');
const PASSWORD = 'dates password 1';
/** Every width from a small phone's to a tablet's, in steps small enough that a time falls at a line's end in some of them. */
const WIDTHS = Array.from({ length: 53 }, (_, i) => 260 + i * 5);

/** For each `time.date` of the page, the number of lines its text is laid out on (the distinct tops of its client rectangles). */
async function dateLines(page: Page): Promise<{ text: string; lines: number }[]> {
  // A string, run in the page: the tests are compiled without the DOM's types.
  return page.evaluate(`[...document.querySelectorAll('time.date')].map((e) => {
    const range = document.createRange();
    range.selectNodeContents(e);
    return { text: e.textContent, lines: new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top))).size };
  })`);
}

/** The widths at which a date of the page is broken across lines, or the page scrolls sideways. */
async function brokenAt(page: Page): Promise<string[]> {
  const broken: string[] = [];
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    for (const date of await dateLines(page)) if (date.lines !== 1) broken.push(`${width} px: "${date.text}" on ${date.lines} lines`);
    if (await page.evaluate('document.documentElement.scrollWidth > document.documentElement.clientWidth')) broken.push(`${width} px: the page scrolls sideways`);
  }
  return broken;
}

describe.skipIf(Boolean(skip))(`install pages in Chromium: dates kept whole, names set apart${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const suite = useBrowserApp(INSTALL_ENV, {
    prepare: async (t) => {
      const admin = new Member(t.url);
      await admin.register('dates-admin', PASSWORD);
      const orgId = await admin.createOrg('Dates');
      // Set up, not installed: the page says until when, with a date.
      expect((await admin.setup(orgId, 'webhook')).status).toBe(201);
    },
  });

  const signedIn = async (lang: 'en' | 'fr') => {
    const context = await suite.browser.newContext({ locale: lang === 'fr' ? 'fr-FR' : 'en-US' });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(`${suite.url}/integrations`);
    await page.locator('#login').fill('dates-admin');
    await page.locator('#password').fill(PASSWORD);
    await page.locator('#password').press('Enter');
    await page.locator('section.org').waitFor();
    return page;
  };

  for (const lang of ['en', 'fr'] as const) {
    it(`${lang}: the integrations page's "until" date and the setup page's expiry never break at their dashes or spaces, at any width from 260 to 520 px`, async () => {
      const page = await signedIn(lang);
      try {
        const pending = page.locator('ul.installations li');
        expect(await pending.textContent()).toMatch(lang === 'fr' ? /^Webhook signé\u00a0: configuré, en attente d’installation jusqu’au \d{4}-\d\d-\d\d \d\d:\d\d UTC$/ : /^Signed webhook: set up, waiting to be installed until \d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
        expect(await pending.locator('time.date').getAttribute('datetime')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:[\d.]+Z$/);
        expect(await brokenAt(page)).toEqual([]);

        await page.setViewportSize({ width: 1024, height: 900 });
        await page.getByRole('button', { name: lang === 'fr' ? 'Configurer un webhook signé' : 'Set up a signed webhook' }).click();
        await page.locator('#setup-expires time.date').waitFor();
        expect(await page.locator('#setup-expires').textContent()).toMatch(lang === 'fr' ? /^Expire s’il n’est pas installé\u00a0: \d{4}-\d\d-\d\d \d\d:\d\d UTC$/ : /^Expires unless installed: \d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
        expect(await brokenAt(page)).toEqual([]);
      } finally {
        await page.context().close();
      }
    });
  }

  it('the delete page sets the organization\'s name apart, in bold, in the sentence and in the label of what to type', async () => {
    const page = await signedIn('fr');
    try {
      await page.getByRole('button', { name: 'Supprimer cette organisation' }).click();
      await page.getByRole('heading', { name: 'Supprimer Dates' }).waitFor();
      const name = page.locator('#delete-name');
      expect(await name.textContent()).toBe('Dates');
      expect(await page.locator('main p').first().textContent()).toBe('Supprimer l’organisation Dates retire, aussitôt et pour de bon\u00a0:');
      const weight = async (selector: string): Promise<number> => Number(await page.evaluate(`getComputedStyle(document.querySelector(${JSON.stringify(selector)})).fontWeight`));
      expect(await weight('#delete-name')).toBeGreaterThanOrEqual(600);
      expect(await weight('main > p:first-of-type')).toBeLessThan(600);
      expect(await weight('label[for=confirm-name] strong')).toBeGreaterThanOrEqual(600);
      // The label's name (what a screen reader says) is the whole sentence, the name in it.
      await page.getByLabel('Pour confirmer, tapez le nom de l’organisation\u00a0: Dates').waitFor();
    } finally {
      await page.context().close();
    }
  });
});
