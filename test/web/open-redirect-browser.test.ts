import { describe, expect, it } from 'vitest';
import { browserSkipReason } from '../helpers/browser.js';
import { useBrowserApp } from '../helpers/browser-app.js';
import { FormClient } from '../doors/access/form-client.js';

/*
 * The way back a sign-in carries (`next`), followed by Chromium itself: whatever an address or a
 * form sends as `next`, the browser ends on this server, and every link of the sign-in page leads
 * there too. Chromium's reading is what counts, not Node's: it turns a backslash into a slash, drops
 * tabs and line breaks from a URL, and resolves dot segments before it picks the host.
 */

const skip = browserSkipReason('the open-redirect checks of the sign-in page');

/** `next` values that a looser check would let lead to evil.example (or to another scheme). */
const CRAFTED = [
  '//evil.example/',
  '/\\evil.example/',
  '\\\\evil.example/',
  '/%2F%2Fevil.example/',
  '/%5Cevil.example/',
  '/%5C%5Cevil.example/',
  'https:evil.example',
  'https://evil.example/',
  'javascript:alert(1)',
  '/\t/evil.example/',
  '/\n/evil.example/',
  '/\r\n/evil.example/',
  '/\t\\evil.example/',
  ' //evil.example/',
  '/..//evil.example/',
  '/.//evil.example/',
  '/%2e%2e//evil.example/',
  '/a/..//evil.example/',
  '/\uFF0F/evil.example/',
  '/\u2215/evil.example/',
  '/\uFF3Cevil.example/',
  '/\u3000/evil.example/',
  '/@evil.example/',
  '/?//evil.example/',
  '/#//evil.example/',
];

const PASSWORD = 'a long enough password 1';

describe.skipIf(Boolean(skip))(`sign-in's way back in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const suite = useBrowserApp({ PAIRGATE_SCRYPT_COST: '10', PAIRGATE_RATE_LIMIT_MAX: '100000' }, {
    prepare: async (t) => new FormClient(t.url).register('redirect-browser', PASSWORD),
  });

  it('every crafted next, in the address or put into the form, ends on this server', { timeout: 120_000 }, async () => {
    const base = suite.url;
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    const strayed: string[] = [];
    // Whatever Chromium asks of another host (a redirect followed, a link prefetched).
    context.on('request', (request) => {
      if (new URL(request.url()).origin !== base) strayed.push(`request to ${request.url()}`);
    });
    context.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) strayed.push(message.text());
    });
    try {
      for (const next of CRAFTED) {
        for (const how of ['address', 'form'] as const) {
          await page.goto(`${base}/account/signin?next=${encodeURIComponent(next)}`);
          // Every link of the page (register, reset, language switch) as Chromium resolves it.
          const links = (await page.evaluate('[...document.querySelectorAll("a[href]")].map((a) => a.href)')) as string[];
          for (const link of links) if (new URL(link).origin !== base) strayed.push(`${JSON.stringify(next)} link ${link}`);
          // The form as sent: what the page kept of the address, or the crafted value put into the field.
          if (how === 'form') await page.evaluate(`(() => { const form = document.querySelector('form[action="/account/signin"]'); let field = form.querySelector('input[name=next]'); if (!field) { field = document.createElement('input'); field.type = 'hidden'; field.name = 'next'; form.append(field); } field.value = ${JSON.stringify(next)}; })()`);
          await page.locator('#login').fill('redirect-browser');
          await page.locator('#password').fill(PASSWORD);
          // A redirect off this server fails here too: the page's `form-action 'self'` makes Chromium
          // block it (ERR_ABORTED), a browser without that check would follow it.
          try {
            await Promise.all([page.waitForNavigation(), page.locator('#password').press('Enter')]);
          } catch (error) {
            strayed.push(`${JSON.stringify(next)} (${how}): ${(error as Error).message.split('\n')[0]}`);
            continue;
          }
          if (new URL(page.url()).origin !== base) strayed.push(`${JSON.stringify(next)} (${how}) -> ${page.url()}`);
        }
      }
    } finally {
      await context.close();
    }
    expect(strayed).toEqual([]);
  });
});
