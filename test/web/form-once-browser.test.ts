import type { Page, Request } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { SupportOriginClient } from '../../src/sdk/support.js';
import { browserSkipReason, settledForDecision } from '../helpers/browser.js';
import { useBrowserApp } from '../helpers/browser-app.js';
import { FormClient } from '../doors/access/form-client.js';
import { DEVICE_ENV } from '../doors/device/device-helpers.js';
import { ADMIN, selfRelayingOriginEnv } from '../doors/support/helpers.js';

const skip = browserSkipReason('the double-press tests of the forms (form-once.js)');
const AVATAR = 'https://avatars.example/thorsten.svg';
const SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><circle cx="32" cy="32" r="30" fill="#1f5fd6"/></svg>';

/**
 * Where to click the button `name`: read before any click, since a locator waits for the navigation
 * a click starts, and the second press must come while the first answer is on its way.
 */
async function centreOf(page: Page, name: string): Promise<{ x: number; y: number }> {
  const box = (await page.getByRole('button', { name }).boundingBox())!;
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

/**
 * The ways people press a button twice, as a person does: the second press comes `GAP` ms after the
 * first, while its answer is on its way. (Presses closer than the browser's own scheduling of the
 * first submission are merged by the browser into one post anyway.)
 */
const GAP = 120;
const PRESSES: Record<string, (page: Page, name: string) => Promise<void>> = {
  'a double click': async (page, name) => {
    const { x, y } = await centreOf(page, name);
    // Each button held down GAP ms: the second click comes GAP ms after the first, a dblclick.
    await page.mouse.dblclick(x, y, { delay: GAP });
  },
  'two quick clicks': async (page, name) => {
    const { x, y } = await centreOf(page, name);
    await page.mouse.click(x, y);
    await page.waitForTimeout(GAP);
    await page.mouse.click(x, y);
  },
  'Enter twice on the focused button': async (page, name) => {
    await page.getByRole('button', { name }).focus();
    await page.keyboard.press('Enter');
    await page.waitForTimeout(GAP);
    await page.keyboard.press('Enter');
  },
};

/**
 * Answers of form posts to paths ending in `suffix` come `ms` late, as over a real network: the
 * server has the post (and decides) at once, its answer reaches the browser later. On loopback the
 * answer is back before a second press can land on the page that sent the form.
 */
async function slowAnswers(page: Page, suffix: string, ms = 400): Promise<void> {
  await page.route(
    (url) => url.pathname.endsWith(suffix),
    async (route) => {
      if (route.request().method() !== 'POST') return route.continue();
      const response = await route.fetch({ maxRedirects: 0 });
      await new Promise((resolve) => setTimeout(resolve, ms));
      // An answer the browser dropped for a later post can no longer be given.
      await route.fulfill({ response }).catch(() => undefined);
    },
  );
}

/** Counts the form posts a page sends to paths ending in `suffix` (cancelled ones included). */
function countPosts(page: Page, suffix: string): () => number {
  let posts = 0;
  page.on('request', (request) => {
    if (request.method() === 'POST' && new URL(request.url()).pathname.endsWith(suffix)) posts += 1;
  });
  return () => posts;
}

describe.skipIf(Boolean(skip))(`a decision pressed twice on the support confirm page${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let sdk: SupportOriginClient;
  let sessions = 0;
  const suite = useBrowserApp(
    (url) => selfRelayingOriginEnv(url),
    {
      prepare: async (t) => {
        sdk = new SupportOriginClient({ baseUrl: t.url, ...ADMIN });
      },
    },
  );

  /** A new support session and a fresh tab (its own cookies and storage) on its confirm page. */
  const confirmPage = async () => {
    const id = `double-${(sessions += 1)}`;
    const created = await sdk.createSession({ id, ttl: 600, supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const { page, problems } = await suite.newPage();
    // The avatar is served by the test: the browser never goes beyond loopback.
    await page.route(AVATAR, (route) => route.fulfill({ status: 200, contentType: 'image/svg+xml', body: SVG }));
    const posts = countPosts(page, '/confirm');
    await page.goto(`${suite.url}/pairing/${created.PairingCode}`);
    return { id, created, page, problems, posts };
  };

  it.each(Object.keys(PRESSES))('Confirm pressed with %s: one answer, the session connected in this tab with its credential kept', async (how) => {
    const { id, created, page, problems, posts } = await confirmPage();
    await slowAnswers(page, '/confirm');
    const supporter = await sdk.attach(id);
    const connected = supporter.next((e) => e.type === 'state' && e.state === 'connected');
    await settledForDecision(page);
    await PRESSES[how]!(page, 'Confirm');
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toMatch(/Session connected/);
    await connected;
    const ref = created.AgentMSH.split('/config/')[1]!;
    expect(page.url()).toBe(`${suite.url}/support/${ref}`);
    expect(await page.evaluate('Object.keys(sessionStorage)')).toEqual([`pairgate.support.credential:/agent/${ref}`]);
    expect((await sdk.getSession(id)).State).toBe('connected');
    expect(posts()).toBe(1);
    // The session page's own form (the chat) is sent by its script as often as the person likes.
    for (const text of ['one', 'two']) {
      const heard = supporter.next((e) => e.type === 'message');
      await page.getByLabel('Message').fill(text);
      await page.getByRole('button', { name: 'Send' }).click();
      expect(await heard).toMatchObject({ from: 'agent', text });
    }
    expect(problems).toEqual([]);
    supporter.end();
    await page.context().close();
  });

  it('with script off, the form still sends the pressed decision', async () => {
    const created = await sdk.createSession({ id: 'double-noscript', ttl: 600, supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const context = await suite.browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.route(AVATAR, (route) => route.fulfill({ status: 200, contentType: 'image/svg+xml', body: SVG }));
    await page.goto(`${suite.url}/pairing/${created.PairingCode}`);
    await page.getByRole('button', { name: 'Confirm' }).click();
    // The session page, its credential in the fragment (the page's script, off here, would keep it).
    await page.waitForURL((url) => url.pathname === `/support/${created.AgentMSH.split('/config/')[1]!}` && url.hash.startsWith('#credential='));
    expect((await sdk.getSession('double-noscript')).State).toBe('confirmed');
    await context.close();
  });

  it('a sent form whose answer never comes to the page can be sent again after 15 s, not before', async () => {
    const id = `double-${(sessions += 1)}`;
    const created = await sdk.createSession({ id, ttl: 600, supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const { page } = await suite.newPage();
    // The page's own clock, so that 15 s pass at once.
    await page.clock.install();
    await page.route(AVATAR, (route) => route.fulfill({ status: 200, contentType: 'image/svg+xml', body: SVG }));
    await page.goto(`${suite.url}/pairing/${created.PairingCode}`);
    const confirm = await centreOf(page, 'Confirm');
    const held: Request[] = [];
    // 204 No Content: the browser stays on this page, as when a navigation is stopped or lost.
    await page.route('**/confirm', async (route) => {
      held.push(route.request());
      await route.fulfill({ status: 204 });
    });
    await settledForDecision(page);
    await page.mouse.click(confirm.x, confirm.y);
    await expect.poll(() => held.length).toBe(1);
    await page.clock.runFor(14_000);
    await page.mouse.click(confirm.x, confirm.y);
    await page.waitForTimeout(300);
    expect(held.length).toBe(1);
    await page.clock.runFor(1_000);
    expect(await page.evaluate("document.querySelector('form').getAttribute('aria-busy')")).toBeNull();
    await page.mouse.click(confirm.x, confirm.y);
    await expect.poll(() => held.length).toBe(2);
    await page.context().close();
  });

  it('a sent form is marked busy and its buttons stay enabled; shown again from the back/forward cache, it can be sent again', async () => {
    const { page, posts } = await confirmPage();
    // The answer is 204 No Content, so the browser stays on this page with its form sent (a held
    // answer would do the same, but Playwright waits for that navigation before reading the page).
    const held: Request[] = [];
    const confirm = await centreOf(page, 'Confirm');
    const cancel = await centreOf(page, 'Cancel');
    // Read in the page itself: a locator would wait for the held navigation.
    const busy = () => page.evaluate("document.querySelector('form').getAttribute('aria-busy')");
    const enabled = () => page.evaluate("[...document.querySelectorAll('form button')].map((b) => !b.disabled)");
    await page.route('**/confirm', async (route) => {
      held.push(route.request());
      await route.fulfill({ status: 204 });
    });
    await settledForDecision(page);
    await page.mouse.click(confirm.x, confirm.y);
    await expect.poll(() => held.length).toBe(1);
    expect(await busy()).toBe('true');
    expect(await enabled()).toEqual([true, true]);
    // Neither the same button nor the other decision sends the form again.
    await page.mouse.click(confirm.x, confirm.y);
    await page.mouse.click(cancel.x, cancel.y);
    await page.waitForTimeout(300);
    expect(held.length).toBe(1);
    expect(posts()).toBe(1);
    // What the browser fires when it shows the page from its back/forward cache.
    await page.evaluate("window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true }))");
    expect(await busy()).toBeNull();
    await page.mouse.click(cancel.x, cancel.y);
    await expect.poll(() => held.length).toBe(2);
    expect(held[1]!.postData()).toContain('decision=decline');
    // A page shown afresh (not from the cache) keeps its form sent.
    await page.evaluate("window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: false }))");
    await page.mouse.click(confirm.x, confirm.y);
    await page.waitForTimeout(300);
    expect(held.length).toBe(2);
    await page.context().close();
  });
});

describe.skipIf(Boolean(skip))(`a decision pressed twice on the device approve page${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const password = 'double press password 1';
  const suite = useBrowserApp(DEVICE_ENV, { prepare: (t) => new FormClient(t.url).register('double-owner', password) });

  it.each(Object.keys(PRESSES))('Approve pressed with %s: one decision, the device gets its token', async (how) => {
    const start = await fetch(`${suite.url}/oauth/device_authorization`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: 'cli', scope: 'read' }) });
    const device = (await start.json()) as { device_code: string; verification_uri_complete: string };
    const { page, problems } = await suite.newPage();
    const decisions = countPosts(page, '/device/decide');
    await page.goto(device.verification_uri_complete);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByLabel('Username or e-mail').fill('double-owner');
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Connect pairgate CLI?' }).waitFor();
    await slowAnswers(page, '/device/decide');
    await settledForDecision(page);
    await PRESSES[how]!(page, 'Approve');
    await page.locator('#outcome[data-outcome="approved"]').waitFor();
    expect(await page.locator('#outcome').textContent()).toContain('pairgate CLI is connected');
    expect(decisions()).toBe(1);
    const token = await fetch(`${suite.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: device.device_code, client_id: 'cli' }) });
    expect(token.status).toBe(200);
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
