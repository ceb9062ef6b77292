import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { SupportOriginClient } from '../../src/sdk/support.js';
import { browserSkipReason, DECISION_SETTLE_MS, decisionPageSettled, settledForDecision } from '../helpers/browser.js';
import { useBrowserApp } from '../helpers/browser-app.js';
import { authRequest, FormClient, getJson, postJson } from '../doors/access/form-client.js';
import { DEVICE_ENV } from '../doors/device/device-helpers.js';
import { INSTALL_ENV, Member } from '../doors/install/install-helpers.js';
import { ADMIN, selfRelayingOriginEnv } from '../doors/support/helpers.js';

/**
 * Double-clickjacking: another site's page asks for a double click and, on its first press, swaps a
 * window under the pointer (closes its popup to uncover a decision page loaded behind it, or
 * navigates a window to one), so that the second press lands on Accept, Approve or Confirm of a page
 * the person never read. frame-ancestors does not apply: the page is a top-level window. The
 * decision pages count a pointer press only once they have seen the pointer move (or a key) on
 * themselves (decision-gate.js).
 *
 * Reproduced here as the attack does it: the pointer rests where the button is, the page is loaded
 * anew under it (a reload: a new document, as a swapped-in window's), and the press comes with no
 * move on that document; or another site's page navigates the window to the decision page on the
 * first press, and the pointer trembles on the page just loaded before the second.
 */
const skip = browserSkipReason('the double-clickjacking browser tests of the decision pages');

/** The centre of the button `name`. */
async function centreOf(page: Page, name: string): Promise<{ x: number; y: number }> {
  const box = (await page.getByRole('button', { name, exact: true }).boundingBox())!;
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

/**
 * The page loaded anew under a pointer resting on the button `name`, then a press there with no
 * move on the new document: the second click of a double click landing on a swapped-in window.
 */
async function pressOnSwappedInPage(page: Page, name: string): Promise<{ x: number; y: number }> {
  const at = await centreOf(page, name);
  await page.mouse.move(at.x, at.y);
  await page.reload();
  await page.waitForLoadState('load');
  expect(await centreOf(page, name)).toEqual(at);
  await page.mouse.down();
  await page.mouse.up();
  return at;
}

/** The pointer moved over the page (as a person's hand brings it to the button), then a press. */
async function moveAndPress(page: Page, at: { x: number; y: number }): Promise<void> {
  await page.mouse.move(at.x - 60, at.y - 30, { steps: 4 });
  await page.mouse.move(at.x, at.y, { steps: 4 });
  await page.mouse.down();
  await page.mouse.up();
}

/** Another site, served by the test: the browser never goes beyond loopback. */
const OTHER_SITE = 'http://double-click-game.invalid';

/**
 * The other site's page at `OTHER_SITE/game`: it asks for a double click anywhere, and its first
 * press navigates this very window to `to`. Its `/slow` answers `delayMs` late with a redirect to
 * `to`: the other site spends the start of the navigation itself (`performance.timeOrigin` is the
 * navigation's start, before its redirects), while its own page is still on screen under the
 * pointer. Returns a function that takes the routes down.
 */
async function otherSite(page: Page, to: string, delayMs = 0): Promise<() => Promise<void>> {
  const next = delayMs ? `${OTHER_SITE}/slow` : to;
  const game = `<!doctype html><title>A game</title><p style="position:fixed;inset:0;margin:0">Double-click anywhere to play</p><script>addEventListener('mousedown', () => { location.href = ${JSON.stringify(next)}; });</script>`;
  const handler = async (route: Parameters<Parameters<Page['route']>[1]>[0]) => {
    if (new URL(route.request().url()).pathname === '/slow') {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      await route.fulfill({ status: 302, headers: { location: to } });
    } else await route.fulfill({ status: 200, contentType: 'text/html', body: game });
  };
  await page.route(`${OTHER_SITE}/**`, handler);
  return () => page.unroute(`${OTHER_SITE}/**`, handler);
}

/**
 * A double click on the other site's page at `at`, where the decision page's button will be: its
 * first press navigates the window to the decision page `to`, the pointer trembles a pixel, and
 * the second press lands on the page just loaded. Returns how long after the navigation's start,
 * and after the page's parsing ended (before its deferred scripts ran), the tremble came.
 */
async function doubleClickThroughOtherSite(page: Page, to: string, at: { x: number; y: number }): Promise<{ sinceNavigation: number; sinceParsed: number }> {
  await page.goto(`${OTHER_SITE}/game`);
  await page.mouse.move(at.x, at.y);
  await page.mouse.down();
  await page.mouse.up();
  await page.waitForURL(to);
  await page.mouse.move(at.x + 1, at.y);
  // Read before the press: a press that counts navigates away.
  const when = await page.evaluate<{ sinceNavigation: number; sinceParsed: number }>(
    "(() => { const now = performance.now(); return { sinceNavigation: now, sinceParsed: now - performance.getEntriesByType('navigation')[0].domInteractive }; })()",
  );
  await page.mouse.down();
  await page.mouse.up();
  return when;
}

describe(`decision-gate.js's quiet and the tests' wait for it`, () => {
  it('are the same length', () => {
    expect(readFileSync(new URL('../../src/web/static/decision-gate.js', import.meta.url), 'utf8')).toContain(`var SETTLE_MS = ${DECISION_SETTLE_MS};`);
  });
});

describe.skipIf(Boolean(skip))(`double-clickjacking, the access consent page in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const suite = useBrowserApp({ PAIRGATE_SCRYPT_COST: '10' });

  /** A context signed in as a new account, its script on or off. */
  const signedIn = async (username: string, javaScriptEnabled = true): Promise<Page> => {
    const page = await (await suite.browser.newContext({ javaScriptEnabled })).newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(`${suite.url}/account/register`);
    await page.getByLabel('E-mail').fill(`${username}@example.test`);
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill('double click password 1');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${suite.url}/account/accesses`);
    return page;
  };
  const ask = async (appId: string) =>
    (await postJson(`${suite.url}/access`, authRequest({ requestingAppId: appId, requestedPermissions: [{ streamId: '*', level: 'manage' }] }))).body;
  const status = async (created: Record<string, unknown>) => (await getJson(String(created.poll))).body.status;

  let page: Page;
  beforeAll(async () => {
    page = await signedIn('dblclick-user');
  });

  it('a press that lands on Accept before the pointer moved on the page decides nothing; once it moved, a press accepts', async () => {
    const created = await ask('dblclick-app');
    await page.goto(String(created.url));
    const at = await pressOnSwappedInPage(page, 'Accept');
    await page.waitForTimeout(1_000);
    expect(await status(created)).toBe('NEED_SIGNIN');
    expect(page.url()).toBe(String(created.url));
    // The person is told why the button did nothing, after the form (its buttons stay put).
    const hint = page.getByRole('status');
    await expect.poll(() => hint.textContent()).toMatch(/^That click was not counted: move the pointer a little, then click again/);
    expect(await page.evaluate('document.querySelector("form[data-decision-gate]").nextElementSibling.hasAttribute("data-decision-gate-hint")')).toBe(true);
    expect(await centreOf(page, 'Accept')).toEqual(at);
    // A second press, still without a move: nothing either, and the hint is not said twice.
    await page.mouse.down();
    await page.mouse.up();
    await page.waitForTimeout(500);
    expect(await status(created)).toBe('NEED_SIGNIN');
    expect(await page.locator('[data-decision-gate-hint]').count()).toBe(1);
    await moveAndPress(page, at);
    await page.waitForSelector('#outcome[data-outcome="ACCEPTED"]');
    expect(await status(created)).toBe('ACCEPTED');
  });

  it('Refuse is held back the same way, then refuses once the pointer moved', async () => {
    const created = await ask('dblclick-refused-app');
    await page.goto(String(created.url));
    const at = await pressOnSwappedInPage(page, 'Refuse');
    await page.waitForTimeout(1_000);
    expect(await status(created)).toBe('NEED_SIGNIN');
    await moveAndPress(page, at);
    await page.waitForSelector('#outcome[data-outcome="REFUSED"]');
    expect(await status(created)).toBe('REFUSED');
  });

  it('the keyboard is never held back: Tab then Enter accepts, the pointer resting on Accept unmoved', async () => {
    const created = await ask('dblclick-keyboard-app');
    await page.goto(String(created.url));
    const at = await centreOf(page, 'Accept');
    await page.mouse.move(at.x, at.y);
    await page.reload();
    // The question has the focus once the page is shown (autofocus, done at a later frame).
    await expect.poll(() => page.evaluate('document.activeElement && document.activeElement.tagName')).toBe('H1');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement && document.activeElement.textContent')).toBe('Accept');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#outcome[data-outcome="ACCEPTED"]');
    expect(await status(created)).toBe('ACCEPTED');
  });

  it('a key pressed on the page lets a later press of the pointer count', async () => {
    const created = await ask('dblclick-key-then-click-app');
    await page.goto(String(created.url));
    const at = await centreOf(page, 'Accept');
    await page.mouse.move(at.x, at.y);
    await page.reload();
    await page.waitForLoadState('load');
    // A key pressed as the page is shown is no answer to it (a gesture in its first SETTLE_MS).
    await decisionPageSettled(page);
    await page.keyboard.press('Shift');
    await page.mouse.down();
    await page.mouse.up();
    await page.waitForSelector('#outcome[data-outcome="ACCEPTED"]');
    expect(await status(created)).toBe('ACCEPTED');
  });

  it('a window navigated to the page by a double click\'s first press: the pointer\'s tremble before the second is no gesture', async () => {
    const created = await ask('dblclick-navigated-app');
    await page.goto(String(created.url));
    const at = await centreOf(page, 'Accept');
    const down = await otherSite(page, String(created.url));
    try {
      const pressed = await doubleClickThroughOtherSite(page, String(created.url), at);
      // The tremble came well within the page's quiet: what this test is about.
      expect(pressed.sinceParsed).toBeLessThan(DECISION_SETTLE_MS);
      await page.waitForTimeout(1_000);
      expect(await status(created)).toBe('NEED_SIGNIN');
      expect(page.url()).toBe(String(created.url));
      expect(await page.getByRole('status').textContent()).toMatch(/^That click was not counted/);
      await moveAndPress(page, at);
      await page.waitForSelector('#outcome[data-outcome="ACCEPTED"]');
      expect(await status(created)).toBe('ACCEPTED');
    } finally {
      await down();
    }
  });

  it('the quiet of a page loaded anew is counted from when it can be shown, not from the navigation\'s start, which the other site can spend', async () => {
    const created = await ask('dblclick-slow-redirect-app');
    await page.goto(String(created.url));
    const at = await centreOf(page, 'Accept');
    const down = await otherSite(page, String(created.url), DECISION_SETTLE_MS + 100);
    try {
      const pressed = await doubleClickThroughOtherSite(page, String(created.url), at);
      expect(pressed.sinceNavigation).toBeGreaterThan(DECISION_SETTLE_MS + 100);
      expect(pressed.sinceParsed).toBeLessThan(DECISION_SETTLE_MS);
      await page.waitForTimeout(1_000);
      expect(await status(created)).toBe('NEED_SIGNIN');
      await moveAndPress(page, at);
      await page.waitForSelector('#outcome[data-outcome="ACCEPTED"]');
      expect(await status(created)).toBe('ACCEPTED');
    } finally {
      await down();
    }
  });

  it('without JavaScript the buttons work as they always did: an unmoved press accepts', async () => {
    const noScript = await signedIn('dblclick-noscript', false);
    try {
      const created = await ask('dblclick-noscript-app');
      await noScript.goto(String(created.url));
      await pressOnSwappedInPage(noScript, 'Accept');
      await noScript.waitForSelector('#outcome[data-outcome="ACCEPTED"]');
      expect(await status(created)).toBe('ACCEPTED');
    } finally {
      await noScript.context().close();
    }
  });

  it('a touch press counts once the page has been shown half a second, not at once', async () => {
    const context = await suite.browser.newContext({ hasTouch: true, storageState: await page.context().storageState() });
    try {
      const touch = await context.newPage();
      touch.setDefaultTimeout(10_000);
      const created = await ask('dblclick-touch-app');
      await touch.goto(String(created.url));
      const at = await centreOf(touch, 'Accept');
      // A new document, tapped as soon as it shows (the second tap of a double tap).
      await touch.reload();
      await touch.evaluate('new Promise((resolve) => requestAnimationFrame(() => resolve(null)))');
      await touch.touchscreen.tap(at.x, at.y);
      await touch.waitForTimeout(1_000);
      expect(await status(created)).toBe('NEED_SIGNIN');
      await touch.touchscreen.tap(at.x, at.y);
      await touch.waitForSelector('#outcome[data-outcome="ACCEPTED"]');
      expect(await status(created)).toBe('ACCEPTED');
    } finally {
      await context.close();
    }
  });

  it('a press before the gate\'s script has run (a slow fetch of it) finds no button; once it ran, a press follows the gate', async () => {
    // A context of its own: its route is gone with it (a route also turns the context's cache off,
    // so the script is fetched, slowly, however often the other tests loaded it).
    const context = await suite.browser.newContext({ storageState: await page.context().storageState() });
    try {
      const slow = await context.newPage();
      slow.setDefaultTimeout(10_000);
      const created = await ask('dblclick-slow-script-app');
      await slow.goto(String(created.url));
      const at = await centreOf(slow, 'Accept');
      let ran = false;
      await slow.route('**/static/decision-gate.js', async (route) => {
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        ran = true;
        await route.continue();
      });
      await slow.goto(String(created.url), { waitUntil: 'commit' });
      // Wait for Accept as a person would (a deferred gate showed it at once), but not past the delay.
      await slow.getByRole('button', { name: 'Accept', exact: true }).waitFor({ timeout: 900 }).catch(() => undefined);
      // The pointer moves over the page and presses where Accept is, before the gate's script ran.
      expect(ran).toBe(false);
      await moveAndPress(slow, at);
      await slow.waitForTimeout(1_000);
      expect(await status(created)).toBe('NEED_SIGNIN');
      expect(slow.url()).toBe(String(created.url));
      // Chromium holds a page's input until it is first shown: the press reached it only then, in the
      // gate's quiet, and was held back (and told).
      expect(await slow.getByRole('status').textContent()).toMatch(/^That click was not counted/);
      // Once it has run, the gate's rules: read, move, press.
      await settledForDecision(slow);
      await slow.mouse.move(at.x, at.y, { steps: 4 });
      await slow.mouse.down();
      await slow.mouse.up();
      await slow.waitForSelector('#outcome[data-outcome="ACCEPTED"]');
      expect(await status(created)).toBe('ACCEPTED');
    } finally {
      await context.close();
    }
  });

  it('a page that gets the focus back needs a new gesture, and the pointer trembling just then is none', async () => {
    // A page of its own, and the last test here: the focus taken out of the browser's page stays out
    // of the others' (their autofocus is then not done).
    const context = await suite.browser.newContext({ storageState: await page.context().storageState() });
    const own = await context.newPage();
    own.setDefaultTimeout(10_000);
    const created = await ask('dblclick-back-app');
    await own.goto(String(created.url));
    const at = await centreOf(own, 'Accept');
    await own.mouse.move(at.x, at.y);
    // The focus leaves the page (past its last stop, to the browser's own), then comes back, the
    // pointer resting on Accept: as a window uncovered under it when the popup above it closes.
    for (let step = 0; step < 20 && (await own.evaluate('document.hasFocus()')); step += 1) await own.keyboard.press('Tab');
    expect(await own.evaluate('document.hasFocus()')).toBe(false);
    await own.keyboard.press('Tab');
    expect(await own.evaluate('document.hasFocus()')).toBe(true);
    // A double click's tremble: a pixel, between its presses.
    await own.mouse.move(at.x + 1, at.y);
    await own.mouse.down();
    await own.mouse.up();
    await own.waitForTimeout(1_000);
    expect(await status(created)).toBe('NEED_SIGNIN');
    await moveAndPress(own, at);
    await own.waitForSelector('#outcome[data-outcome="ACCEPTED"]');
    expect(await status(created)).toBe('ACCEPTED');
    await context.close();
  });
});

describe.skipIf(Boolean(skip))(`double-clickjacking, the device approval page in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const password = 'double click password 2';
  const suite = useBrowserApp(DEVICE_ENV, { prepare: (t) => new FormClient(t.url).register('dblclick-owner', password) });

  it('a press that lands on Approve before the pointer moved on the page decides nothing; once it moved, a press approves', async () => {
    const response = await fetch(`${suite.url}/oauth/device_authorization`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: 'cli', scope: 'read' }) });
    const device = (await response.json()) as { device_code: string; verification_uri_complete: string };
    const { page, problems } = await suite.newPage();
    await page.goto(device.verification_uri_complete);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByLabel('Username or e-mail').fill('dblclick-owner');
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Connect pairgate CLI?' }).waitFor();
    const consent = page.url();
    const at = await pressOnSwappedInPage(page, 'Approve');
    await page.waitForTimeout(1_000);
    expect(page.url()).toBe(consent);
    await moveAndPress(page, at);
    await page.locator('#outcome[data-outcome="approved"]').waitFor();
    expect(problems).toEqual([]);
  });
});

describe.skipIf(Boolean(skip))(`double-clickjacking, the support confirmation page in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let sdk: SupportOriginClient;
  const suite = useBrowserApp((url) => selfRelayingOriginEnv(url), {
    prepare: async (t) => {
      sdk = new SupportOriginClient({ baseUrl: t.url, ...ADMIN });
    },
  });

  it('a press that lands on Confirm before the pointer moved on the page confirms nothing; once it moved, a press confirms', async () => {
    const avatar = 'https://avatars.example/thorsten.svg';
    const created = await sdk.createSession({ id: 'dblclick', ttl: 600, supporterName: 'Thorsten', supporterAvatar: avatar });
    const { page, problems } = await suite.newPage();
    // The avatar is served by the test: the browser never goes beyond loopback.
    await page.route(avatar, (route) => route.fulfill({ status: 200, contentType: 'image/svg+xml', body: '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>' }));
    await page.goto(`${suite.url}/pairing/${created.PairingCode}`);
    const at = await pressOnSwappedInPage(page, 'Confirm');
    await page.waitForTimeout(1_000);
    expect(new URL(page.url()).pathname).toBe(`/pairing/${created.PairingCode}`);
    expect((await sdk.getSession('dblclick')).State).not.toMatch(/confirmed|connected/);
    expect(await page.getByRole('status').textContent()).toMatch(/^That click was not counted/);
    await moveAndPress(page, at);
    await page.waitForURL(/\/support\//);
    await expect.poll(async () => (await sdk.getSession('dblclick')).State).toMatch(/confirmed|connected/);
    expect(problems).toEqual([]);
  });
});

describe.skipIf(Boolean(skip))(`double-clickjacking, the integrations page's Make admin in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const password = 'double click password 3';
  const suite = useBrowserApp(INSTALL_ENV);

  it('a press that lands on Make admin before the pointer moved on the page changes no role; once it moved, a press makes the member admin', async () => {
    // The member joins over the API; the admin works on the page.
    const member = await Member.create(suite.url, 'dblclick-member');
    const { page, problems } = await suite.newPage();
    // Tall enough that the members' buttons are on screen: a press outside the window reaches nothing.
    await page.setViewportSize({ width: 1280, height: 1600 });
    await page.goto(`${suite.url}/account/register`);
    await page.getByLabel('E-mail').fill('dblclick-admin@example.test');
    await page.getByLabel('Username').fill('dblclick-admin');
    await page.getByLabel('Password').fill(password);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${suite.url}/account/accesses`);
    await page.goto(`${suite.url}/integrations`);
    await page.locator('#org-name').fill('Double Click Inc');
    await page.locator('form[action="/integrations/orgs"] button').click();
    await page.locator('input[name=username]').fill('dblclick-member');
    await page.locator('form[action$="/members"] button').click();
    await page.locator('ul.pending-invitations').waitFor();
    const orgId = /\/integrations\/orgs\/([^/]+)\/members/.exec((await page.locator('form[action$="/members"]').getAttribute('action'))!)![1]!;
    const invitation = await member.invitationInto(orgId);
    expect((await member.json('POST', `/api/v1/invitations/${invitation!.id}/accept`)).status).toBe(200);
    await page.reload();
    const role = async () => ((await member.json('GET', '/api/v1/organizations')).body.organizations as Array<{ id: string; role: string }>).find((org) => org.id === orgId)?.role;
    expect(await role()).toBe('member');

    const button = (await page.getByRole('button', { name: 'Make admin', exact: true }).boundingBox())!;
    expect(button.y + button.height).toBeLessThan(1600);
    const at = await pressOnSwappedInPage(page, 'Make admin');
    await page.waitForTimeout(1_000);
    expect(await role()).toBe('member');
    await moveAndPress(page, at);
    await expect.poll(role, { timeout: 10_000 }).toBe('admin');
    expect(problems).toEqual([]);
  });
});
