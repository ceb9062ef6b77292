import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { SupportOriginClient } from '../../../src/sdk/support.js';
import { browserSkipReason, settledForDecision, watchProblems } from '../../helpers/browser.js';
import { useBrowserApp } from '../../helpers/browser-app.js';
import { ADMIN, selfRelayingOriginEnv } from './helpers.js';

const skip = browserSkipReason();
const LOGO = 'https://logo.example/logo.svg';
const AVATAR = 'https://avatars.example/thorsten.svg';
const SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><circle cx="32" cy="32" r="30" fill="#1f5fd6"/></svg>';

/** Serves the logo and avatar from the test itself: the browser never goes beyond loopback. */
async function routeImages(page: Page): Promise<string[]> {
  const served: string[] = [];
  await page.route(/^https:\/\/(logo|avatars)\.example\//, async (route) => {
    served.push(route.request().url());
    await route.fulfill({ status: 200, contentType: 'image/svg+xml', body: SVG });
  });
  return served;
}

describe.skipIf(Boolean(skip))(`support pages in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let sdk: SupportOriginClient;
  // One process serves the origin and, at /relay, the relay it publishes on.
  const suite = useBrowserApp(
    (url) => selfRelayingOriginEnv(url, { PLEXUS_COMPANY_LOGO: LOGO }),
    {
      prepare: async (t) => {
        sdk = new SupportOriginClient({ baseUrl: t.url, ...ADMIN });
      },
    },
  );

  it('type code -> see supporter, company and logo -> confirm -> session connected, without CSP violations', async () => {
    const created = await sdk.createSession({ id: 'browser-joe', ttl: 600, supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const supporter = await sdk.attach('browser-joe');
    const page = await suite.browser.newPage();
    const problems = watchProblems(page);
    const served = await routeImages(page);

    await page.goto(`${suite.url}/relay/`);
    await page.getByLabel('Pairing code').fill(created.PairingCode!.toUpperCase());
    const [confirmation] = await Promise.all([
      page.waitForResponse((response) => response.url() === `${suite.url}/pairing/${created.PairingCode}`),
      page.getByRole('button', { name: 'Continue' }).click(),
    ]);
    await page.waitForURL(`${suite.url}/pairing/${created.PairingCode}`);
    // The one page that allows pictures from elsewhere (every other page's policy says img-src 'self' data:).
    expect(await confirmation.headerValue('content-security-policy')).toContain("img-src 'self' data: https:;");
    await expect.poll(() => page.locator('#question').textContent()).toBe('Do you really want to grant access to Thorsten of The great PC support?');
    expect(await page.locator('#supporter-name').textContent()).toBe('Thorsten');
    expect(await page.locator('#company-name').textContent()).toBe('The great PC support');
    // How long the code has left, not a clock time in UTC (PLEXUS_PAIRING_TTL is 600 s here).
    expect(await page.locator('#question-note').textContent()).toMatch(/The code expires in [89] minutes\.$/);
    await expect.poll(() => page.locator('img.logo').evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBeGreaterThan(0);
    expect(served).toEqual(expect.arrayContaining([LOGO, AVATAR]));

    const connected = supporter.next((e) => e.type === 'state' && e.state === 'connected');
    await settledForDecision(page);
    await page.getByRole('button', { name: 'Confirm' }).click();
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toMatch(/Session connected/);
    await connected;
    expect((await sdk.getSession('browser-joe')).State).toBe('connected');

    // Chat both ways through the page.
    supporter.say('Hello from Thorsten');
    await expect.poll(() => page.locator('#messages').textContent()).toContain('Supporter: Hello from Thorsten');
    const fromPage = supporter.next((e) => e.type === 'message');
    await page.getByLabel('Message').fill('Hi Thorsten');
    await page.getByRole('button', { name: 'Send' }).click();
    expect(await fromPage).toMatchObject({ from: 'agent', text: 'Hi Thorsten' });

    // Back leads to the spent code: the page says it was used and where the session is (not "ask
    // for a new code"); Forward is the session again.
    await page.goBack();
    await expect.poll(() => page.locator('h1').textContent()).toBe('This code was already used');
    expect(await page.locator('[role=alert]').textContent()).toMatch(/^This code was confirmed already, .* If you came back here from your support session, it is on the next page: press Forward/);
    const back = supporter.next((e) => e.type === 'state' && e.state === 'connected');
    await page.goForward();
    await back;
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toMatch(/Session connected/);

    // The supporter ends it while the person is typing; the page says who did, and that the page
    // may be closed, and the focus moves from the hidden message box to those words.
    await page.getByLabel('Message').focus();
    supporter.end();
    await expect.poll(() => page.locator('#status').textContent()).toBe('Your supporter ended the session. You can close this page.');
    expect(await page.locator('#status').evaluate((element) => element === element.ownerDocument.activeElement)).toBe(true);
    expect(problems.filter((p) => /Content Security Policy|Refused/i.test(p))).toEqual([]);
    // The spent code's 404 (Back) is logged by Chromium as a failed resource; nothing else may appear.
    expect(problems.filter((p) => !/status of 404/.test(p))).toEqual([]);
    await page.close();
  });

  it('confirm with the keyboard (focus starts on the heading, Confirm one Tab away) -> chat -> reload -> the same session reconnects, shows the chat so far once and chats on; once ended, the page says so', async () => {
    const created = await sdk.createSession({ id: 'browser-reload', ttl: 600, supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const supporter = await sdk.attach('browser-reload');
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    const problems = watchProblems(page);
    await routeImages(page);
    await page.goto(`${suite.url}/pairing/${created.PairingCode}`);
    // The focus starts on the heading (never a button: keyjacking); Confirm is the first Tab stop.
    await expect.poll(() => page.evaluate('document.activeElement && document.activeElement.tagName')).toBe('H1');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement && document.activeElement.textContent')).toBe('Confirm');
    expect(await page.evaluate('document.activeElement && document.activeElement.getAttribute(\'aria-describedby\')')).toBe('question question-note');

    let connected = supporter.next((e) => e.type === 'state' && e.state === 'connected');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toMatch(/Session connected/);
    await connected;
    // Post/Redirect/Get: a page of its own, the credential gone from the address bar, kept in the tab.
    const ref = created.AgentMSH.split('/config/')[1]!;
    expect(page.url()).toBe(`${suite.url}/support/${ref}`);
    expect(await page.evaluate('Object.keys(sessionStorage)')).toEqual([`pairgate.support.credential:/agent/${ref}`]);

    // Chat before the reload: the reloaded page shows it again (the history the page asks for).
    supporter.say('Before the reload');
    await expect.poll(() => page.locator('#messages').textContent()).toContain('Supporter: Before the reload');
    const heard = supporter.next((e) => e.type === 'message');
    await page.getByLabel('Message').fill('Hello from the page');
    await page.getByRole('button', { name: 'Send' }).click();
    await heard;

    const disconnected = supporter.next((e) => e.type === 'state' && e.state === 'confirmed');
    connected = supporter.next((e) => e.type === 'state' && e.state === 'connected');
    await page.reload();
    await disconnected;
    await connected;
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toMatch(/Session connected/);
    await expect.poll(() => page.locator('#messages li').allTextContents()).toEqual(['Supporter: Before the reload', 'You: Hello from the page']);
    expect(page.url()).toBe(`${suite.url}/support/${ref}`);
    expect((await sdk.getSession('browser-reload')).State).toBe('connected');
    supporter.say('Still there after the reload?');
    await expect.poll(() => page.locator('#messages li').allTextContents()).toEqual(['Supporter: Before the reload', 'You: Hello from the page', 'Supporter: Still there after the reload?']);
    const fromPage = supporter.next((e) => e.type === 'message');
    await page.getByLabel('Message').fill('Yes');
    await page.getByRole('button', { name: 'Send' }).click();
    expect(await fromPage).toMatchObject({ from: 'agent', text: 'Yes' });

    // Another tab (no credential in its storage) cannot join, and says so.
    const other = await context.newPage();
    await other.goto(`${suite.url}/support/${ref}`);
    await expect.poll(() => other.locator('#status').textContent()).toMatch(/does not hold the key/);
    await other.close();

    supporter.end();
    await expect.poll(() => page.locator('#status').textContent()).toBe('Your supporter ended the session. You can close this page.');
    expect(await page.evaluate('Object.keys(sessionStorage)')).toEqual([]);
    await page.reload();
    expect(await page.locator('h1').textContent()).toBe('This support session has ended');
    // The ended page's 404 is logged by Chromium as a failed resource; nothing else may appear.
    expect(problems.filter((p) => !/status of 404/.test(p))).toEqual([]);
    await context.close();
  });

  it('the page says when the supporter leaves (they may come back until the expiry) and when they are back', async () => {
    const created = await sdk.createSession({ id: 'browser-peer', ttl: 600, supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const supporter = await sdk.attach('browser-peer');
    const page = await suite.browser.newPage();
    await routeImages(page);
    await page.goto(`${suite.url}/pairing/${created.PairingCode}`);
    await settledForDecision(page);
    await page.getByRole('button', { name: 'Confirm' }).click();
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toMatch(/Session connected/);
    supporter.close();
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toMatch(/^Your supporter has left the session for now\. They may come back until \S.*; keep this page open to wait for them\.$/);
    const again = await sdk.attach('browser-peer');
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toBe('Your supporter is back. They can help you now.');
    again.end();
    await page.close();
  });

  it('the page says a supporter who attaches after the person joined alone has joined, not that they are back', async () => {
    const created = await sdk.createSession({ id: 'browser-first', ttl: 600, supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const page = await suite.browser.newPage();
    await routeImages(page);
    await page.goto(`${suite.url}/pairing/${created.PairingCode}`);
    await settledForDecision(page);
    await page.getByRole('button', { name: 'Confirm' }).click();
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toMatch(/^Session connected/);
    const supporter = await sdk.attach('browser-first');
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toBe('Your supporter has joined the session. They can help you now.');
    supporter.end();
    await page.close();
  });

  it('End session on the page ends it for the supporter too, and the page says who ended it', async () => {
    const created = await sdk.createSession({ id: 'browser-end', ttl: 600, supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const supporter = await sdk.attach('browser-end');
    const page = await suite.browser.newPage();
    await routeImages(page);
    await page.goto(`${suite.url}/pairing/${created.PairingCode}`);
    await settledForDecision(page);
    await page.getByRole('button', { name: 'Confirm' }).click();
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toMatch(/Session connected/);
    const ended = new Promise<string>((resolve) => supporter.on('ended', resolve));
    await page.getByRole('button', { name: 'End session' }).click();
    expect(await page.locator('#status').textContent()).toBe('You ended the session. You can close this page.');
    // The button that held the focus is hidden: the focus is on the words, not back at the page's top.
    expect(await page.locator('#status').evaluate((element) => element === element.ownerDocument.activeElement)).toBe(true);
    expect(await ended).toBe('agent');
    await page.close();
  });

  it('a wrong code shows a clear error; Cancel declines', async () => {
    const page = await suite.browser.newPage();
    const problems = watchProblems(page);
    await routeImages(page);
    await page.goto(`${suite.url}/relay/`);
    await page.getByLabel('Pairing code').fill('zzzzzz');
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect.poll(() => page.locator('#code-error').textContent()).toMatch(/No session has this code/);

    const created = await sdk.createSession({ id: 'browser-no', supporterName: 'Thorsten', supporterAvatar: AVATAR });
    await page.getByLabel('Pairing code').fill(created.PairingCode!);
    await page.getByRole('button', { name: 'Continue' }).click();
    await settledForDecision(page);
    await page.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Declined');
    expect((await sdk.getSession('browser-no')).State).toBe('declined');
    // Post/Redirect/Get: the declined page is a GET of its own, and a reload shows it again
    // (not the spent code's 404).
    expect(page.url()).toBe(`${suite.url}/support/declined`);
    const reloaded = await page.reload();
    expect(reloaded?.status()).toBe(200);
    expect(await page.locator('h1').textContent()).toBe('Declined');
    // Back to the code's page: it says the code was declined, not that it never existed.
    await page.goBack();
    await expect.poll(() => page.locator('h1').textContent()).toBe('This code was declined');
    expect(await page.locator('[role=alert]').textContent()).toMatch(/nobody was given access/);
    // The 404 of the wrong code is logged by Chromium as a failed resource; nothing else may appear.
    expect(problems.filter((p) => !/status of 404/.test(p))).toEqual([]);
    await page.close();
  });
});
