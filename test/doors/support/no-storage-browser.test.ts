import type { BrowserContext } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { SupportOriginClient } from '../../../src/sdk/support.js';
import { browserSkipReason, settledForDecision, watchProblems } from '../../helpers/browser.js';
import { useBrowserApp } from '../../helpers/browser-app.js';
import { ADMIN, selfRelayingOriginEnv } from './helpers.js';

const skip = browserSkipReason();
const NBSP = '\u00a0';
const AVATAR = 'https://avatars.example/thorsten.svg';
const SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><circle cx="32" cy="32" r="30" fill="#1f5fd6"/></svg>';

/**
 * What a browser whose storage is blocked does: reading `sessionStorage` throws a SecurityError
 * (Chromium with site data blocked, some private modes).
 */
const BLOCK_STORAGE = `(() => {
  const blocked = { configurable: true, get() { throw new DOMException('Access is denied for this document.', 'SecurityError'); } };
  Object.defineProperty(Window.prototype, 'sessionStorage', blocked);
  Object.defineProperty(window, 'sessionStorage', blocked);
})();`;

/** A context in English, its avatar served by the test itself (the browser never goes beyond loopback). */
async function newContext(suite: ReturnType<typeof useBrowserApp>, blockStorage: boolean): Promise<BrowserContext> {
  const context = await suite.browser.newContext({ locale: 'en-US' });
  await context.route(/^https:\/\/avatars\.example\//, (route) => route.fulfill({ status: 200, contentType: 'image/svg+xml', body: SVG }));
  if (blockStorage) await context.addInitScript(BLOCK_STORAGE);
  return context;
}

describe.skipIf(Boolean(skip))(`support session page without sessionStorage in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let sdk: SupportOriginClient;
  // One process serves the origin and, at /relay, the relay it publishes on (as page.test.ts).
  const suite = useBrowserApp(
    (url) => selfRelayingOriginEnv(url),
    {
      prepare: async (t) => {
        sdk = new SupportOriginClient({ baseUrl: t.url, ...ADMIN });
      },
    },
  );

  it('storage blocked: the credential stays in the fragment and the switch to French carries it, so the French page joins and chats', async () => {
    const created = await sdk.createSession({ id: 'no-storage', ttl: 600, supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const supporter = await sdk.attach('no-storage');
    const context = await newContext(suite, true);
    const page = await context.newPage();
    const problems = watchProblems(page);
    const sent: string[] = [];
    page.on('request', (request) => sent.push(request.url()));
    const ref = created.AgentMSH.split('/config/')[1]!;
    const address = `${suite.url}/support/${ref}`;

    await page.goto(`${suite.url}/pairing/${created.PairingCode}`);
    expect(await page.evaluate('(() => { try { sessionStorage; return "readable"; } catch (e) { return e.name; } })()')).toBe('SecurityError');
    const connected = supporter.next((e) => e.type === 'state' && e.state === 'connected');
    await settledForDecision(page);
    await page.getByRole('button', { name: 'Confirm' }).click();
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toMatch(/^Session connected/);
    await connected;
    // Nowhere else to keep it: the credential stays in the address bar's fragment.
    const hash = new URL(page.url()).hash;
    expect(hash).toMatch(/^#credential=[A-Za-z0-9_-]+$/);
    const credential = hash.slice('#credential='.length);
    expect(page.url()).toBe(`${address}${hash}`);

    // The switch leads to this page in French with the fragment; the brand (another page) without.
    expect(await page.getByRole('link', { name: 'Français' }).getAttribute('href')).toBe(`/support/${ref}?lang=fr${hash}`);
    expect(await page.locator('a.brand').getAttribute('href')).toBe('/');

    // The switch: the French page holds the key too, joins and chats.
    await page.getByRole('link', { name: 'Français' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Session d’assistance');
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toBe('Session connectée. Votre assistant peut maintenant vous aider.');
    expect(page.url()).toBe(`${address}?lang=fr${hash}`);
    expect((await sdk.getSession('no-storage')).State).toBe('connected');
    supporter.say('Bonjour');
    await expect.poll(() => page.locator('#messages li').allTextContents()).toEqual([`Assistant${NBSP}: Bonjour`]);
    const heard = supporter.next((e) => e.type === 'message');
    await page.getByLabel('Message').fill('Merci');
    await page.getByRole('button', { name: 'Envoyer' }).click();
    expect(await heard).toMatchObject({ from: 'agent', text: 'Merci' });
    // And back to English the same way.
    expect(await page.getByRole('link', { name: 'English' }).getAttribute('href')).toBe(`/support/${ref}?lang=en${hash}`);

    // The credential never went to the server: no address the browser asked for holds it.
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.filter((url) => url.includes(credential))).toEqual([]);
    supporter.end();
    await expect.poll(() => page.locator('#status').textContent()).toBe('Votre assistant a terminé la session. Vous pouvez fermer cette page.');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('storage blocked: the skip link moves to the content without replacing the fragment, so a reload still joins', async () => {
    const created = await sdk.createSession({ id: 'no-storage-skip', ttl: 600, supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const supporter = await sdk.attach('no-storage-skip');
    const context = await newContext(suite, true);
    const page = await context.newPage();
    const problems = watchProblems(page);
    const address = `${suite.url}/support/${created.AgentMSH.split('/config/')[1]!}`;
    await page.goto(`${suite.url}/pairing/${created.PairingCode}`);
    let connected = supporter.next((e) => e.type === 'state' && e.state === 'connected');
    await settledForDecision(page);
    await page.getByRole('button', { name: 'Confirm' }).click();
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toMatch(/^Session connected/);
    await connected;
    const hash = new URL(page.url()).hash;
    expect(hash).toMatch(/^#credential=[A-Za-z0-9_-]+$/);

    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement && document.activeElement.className')).toBe('skip');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate('document.activeElement && document.activeElement.id')).toBe('main');
    expect(page.url()).toBe(`${address}${hash}`);
    const disconnected = supporter.next((e) => e.type === 'state' && e.state === 'confirmed');
    connected = supporter.next((e) => e.type === 'state' && e.state === 'connected');
    await page.reload();
    await disconnected;
    await connected;
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toMatch(/^Session connected/);
    supporter.end();
    await expect.poll(() => page.locator('#status').textContent()).toBe('Your supporter ended the session. You can close this page.');
    // The chat's controls, which can do nothing more, are gone with it.
    expect(await page.locator('#chat').isVisible()).toBe(false);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('storage available: the credential leaves the address bar, the switch carries no fragment, and the French page joins from the tab storage', async () => {
    const created = await sdk.createSession({ id: 'with-storage', ttl: 600, supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const supporter = await sdk.attach('with-storage');
    const context = await newContext(suite, false);
    const page = await context.newPage();
    const problems = watchProblems(page);
    const ref = created.AgentMSH.split('/config/')[1]!;

    await page.goto(`${suite.url}/pairing/${created.PairingCode}`);
    await settledForDecision(page);
    await page.getByRole('button', { name: 'Confirm' }).click();
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toMatch(/^Session connected/);
    expect(page.url()).toBe(`${suite.url}/support/${ref}`);
    expect(await page.getByRole('link', { name: 'Français' }).getAttribute('href')).toBe(`/support/${ref}?lang=fr`);

    await page.getByRole('link', { name: 'Français' }).click();
    await page.waitForURL(`${suite.url}/support/${ref}?lang=fr`);
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toBe('Session connectée. Votre assistant peut maintenant vous aider.');
    supporter.say('Bonjour');
    await expect.poll(() => page.locator('#messages li').allTextContents()).toEqual([`Assistant${NBSP}: Bonjour`]);
    supporter.end();
    await expect.poll(() => page.locator('#status').textContent()).toBe('Votre assistant a terminé la session. Vous pouvez fermer cette page.');
    expect(problems).toEqual([]);
    await context.close();
  });
});
