import type { BrowserContext } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { SupportOriginClient } from '../../../src/sdk/support.js';
import { browserSkipReason, watchProblems } from '../../helpers/browser.js';
import { useBrowserApp } from '../../helpers/browser-app.js';
import { ADMIN, selfRelayingOriginEnv } from './helpers.js';

const skip = browserSkipReason();
const AVATAR = 'https://avatars.example/thorsten.svg';
const SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><circle cx="32" cy="32" r="30" fill="#1f5fd6"/></svg>';

/** A context in `locale`, with or without JavaScript, its avatar served by the test itself. */
async function newContext(suite: ReturnType<typeof useBrowserApp>, javaScriptEnabled: boolean, locale = 'en-US'): Promise<BrowserContext> {
  const context = await suite.browser.newContext({ locale, javaScriptEnabled });
  await context.route(/^https:\/\/avatars\.example\//, (route) => route.fulfill({ status: 200, contentType: 'image/svg+xml', body: SVG }));
  return context;
}

describe.skipIf(Boolean(skip))(`support pages with JavaScript off in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let sdk: SupportOriginClient;
  const suite = useBrowserApp(
    (url) => selfRelayingOriginEnv(url),
    {
      prepare: async (t) => {
        sdk = new SupportOriginClient({ baseUrl: t.url, ...ADMIN });
      },
    },
  );

  it('the confirmation page warns before the code is spent; the session page claims no connection and says what to do, which works', async () => {
    const created = await sdk.createSession({ id: 'no-js', ttl: 600, supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const context = await newContext(suite, false);
    const page = await context.newPage();

    await page.goto(`${suite.url}/relay/go?code=${created.PairingCode}`);
    await page.waitForURL(`${suite.url}/pairing/${created.PairingCode}`);
    // Before the code is spent: the person learns that the next page needs JavaScript.
    const warning = page.locator('#noscript-note');
    expect(await warning.isVisible()).toBe(true);
    expect(await warning.textContent()).toBe('JavaScript is off in this browser, and the support session that follows this page needs it. Turn JavaScript on and reload this page before you confirm: a code can be confirmed only once.');

    // Confirmed anyway: the session page does not say "Connecting…" (nothing connects) and says how to go on.
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.waitForURL(/\/support\/no-js:/);
    expect((await page.locator('#status').textContent())?.trim()).toBe('');
    expect(await page.locator('main p.error').textContent()).toBe('This page needs JavaScript to hold the session with your supporter, and JavaScript is off in this browser. Turn it on, then reload this page: the session waits for you until it expires.');
    expect((await sdk.getSession('no-js')).State).toBe('confirmed');
    const address = page.url();
    expect(new URL(address).hash).toMatch(/^#credential=/);
    await context.close();

    // What the note says works: the same address with JavaScript on joins the session.
    const withScript = await newContext(suite, true);
    const again = await withScript.newPage();
    const problems = watchProblems(again);
    const supporter = await sdk.attach('no-js');
    await again.goto(address);
    await expect.poll(() => again.locator('#status').textContent(), { timeout: 10_000 }).toMatch(/^Session connected/);
    expect((await sdk.getSession('no-js')).State).toBe('connected');
    expect(problems).toEqual([]);
    supporter.close();
    await withScript.close();
  });

  it('in French too, and with JavaScript on the confirmation page shows no such warning', async () => {
    const created = await sdk.createSession({ id: 'no-js-fr', ttl: 600, supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const context = await newContext(suite, false, 'fr-FR');
    const page = await context.newPage();
    await page.goto(`${suite.url}/pairing/${created.PairingCode}`);
    expect(await page.locator('#noscript-note').textContent()).toMatch(/^JavaScript est désactivé dans ce navigateur.*avant de confirmer/);
    await context.close();

    const withScript = await newContext(suite, true);
    const shown = await withScript.newPage();
    await shown.goto(`${suite.url}/pairing/${created.PairingCode}`);
    expect(await shown.locator('#noscript-note').count()).toBe(0);
    await withScript.close();
  });
});
