import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { UserStore } from '../../../src/doors/accounts/users.js';
import { browserSkipReason } from '../../helpers/browser.js';
import { useBrowserApp } from '../../helpers/browser-app.js';
import { connectDevice, DEVICE_ENV } from '../device/device-helpers.js';
import { authRequest, FormClient, postJson } from './form-client.js';

const skip = browserSkipReason('the browser tests of the accesses and devices pages');
const PASSWORD = 'names on the pages password';
/** An app id of ordinary words (dashes), longer than a phone's line, and one long word. */
const WORDY_APP = 'family-photo-album-sync-for-the-whole-household';
const LONG_APP = 'averyveryverylongapplicationidentifierwithoutanybreakatall';
const DEVICE = 'Grandmother kitchen tablet';
/** Device clients whose names are ordinary words, one longer than a phone's line. */
const LONG_CLIENT = 'The shared television in the downstairs living room of the house';
const ONE_WORD_CLIENT = 'Supercalifragilisticexpialidociousdevicenamewithoutspaces';
const CLIENTS = JSON.stringify({ 'tv-app': 'Living-room TV', 'long-words': LONG_CLIENT, 'one-word': ONE_WORD_CLIENT });

/** Whether the page is wider than the window (it scrolls sideways). */
async function overflows(page: Page): Promise<boolean> {
  return page.evaluate('document.documentElement.scrollWidth > document.documentElement.clientWidth');
}

/** Whether the first element `selector` whose text contains `text` holds it within its own box. */
async function fitsItsBox(page: Page, selector: string, text: string): Promise<boolean> {
  return page.evaluate(`(() => {
    const element = [...document.querySelectorAll(${JSON.stringify(selector)})].find((e) => e.textContent.includes(${JSON.stringify(text)}));
    return element.scrollWidth <= element.clientWidth;
  })()`);
}

/**
 * The lines each word of `text` (inside the first element `selector` whose text contains it) is laid
 * out on, as [word, lines]: a word on more than one line was broken in its middle.
 */
async function linesOfWords(page: Page, selector: string, text: string): Promise<[string, number][]> {
  return page.evaluate(`(() => {
    const element = [...document.querySelectorAll(${JSON.stringify(selector)})].find((e) => e.textContent.includes(${JSON.stringify(text)}));
    if (!element) throw new Error('no element holds ' + ${JSON.stringify(text)});
    const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    let node;
    while ((node = walker.nextNode()) && !node.textContent.includes(${JSON.stringify(text)}));
    const start = node.textContent.indexOf(${JSON.stringify(text)});
    const words = [];
    const pattern = /[^\\s-]+/g;
    let match;
    while ((match = pattern.exec(${JSON.stringify(text)}))) {
      const range = document.createRange();
      range.setStart(node, start + match.index);
      range.setEnd(node, start + match.index + match[0].length);
      words.push([match[0], new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top))).size]);
    }
    return words;
  })()`);
}

/**
 * On the app accesses and connected devices pages, each Revoke or Disconnect button says which app
 * (and device) it is for, in EN and FR; long names wrap between words at a phone's width, and the
 * page does not scroll sideways.
 */
describe.skipIf(Boolean(skip))(`names on the accesses and devices pages${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const suite = useBrowserApp({ ...DEVICE_ENV, PAIRGATE_DEVICE_CLIENTS: CLIENTS }, {
    prepare: async (t) => {
      const person = new FormClient(t.url);
      await person.register('names-person', PASSWORD);
      for (const [app, deviceName] of [[WORDY_APP, DEVICE], [LONG_APP, null], ['<b>tag-app</b>', null]] as const) {
        const created = await postJson(`${t.url}/access`, authRequest({ requestingAppId: app, deviceName }));
        expect((await person.decide(String(created.body.key), 'accept')).status).toBe(200);
      }
      const user = (await new UserStore(t.app.pairgate.stores.db).findByLogin('names-person'))!;
      for (const clientId of ['tv-app', 'long-words', 'one-word']) expect((await connectDevice(t.app, user, clientId)).status).toBe(200);
    },
  });

  /** A signed-in page at `width` px, in `locale`. */
  const signedIn = async (width: number, locale = 'en-US') => {
    const context = await suite.browser.newContext({ viewport: { width, height: 800 }, locale });
    const page = await context.newPage();
    await page.goto(`${suite.url}/account/signin?lang=en`);
    await page.getByLabel('Username or e-mail').fill('names-person');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/account\/accesses/);
    return page;
  };

  for (const width of [375, 320]) {
    it(`${width} px: long names wrap between words (a long word only where it must), within the card, and neither page scrolls sideways`, async () => {
      const page = await signedIn(width);
      await page.goto(`${suite.url}/account/accesses`);
      expect(await overflows(page)).toBe(false);
      for (const [word, lines] of [...await linesOfWords(page, 'h2', WORDY_APP), ...await linesOfWords(page, 'h2 .muted', DEVICE)]) expect(lines, word).toBe(1);
      expect(await fitsItsBox(page, 'h2', LONG_APP)).toBe(true);
      await page.goto(`${suite.url}/account/devices`);
      expect(await overflows(page)).toBe(false);
      for (const [word, lines] of await linesOfWords(page, 'h2', LONG_CLIENT)) expect(lines, word).toBe(1);
      expect(await fitsItsBox(page, 'h2', ONE_WORD_CLIENT)).toBe(true);
      // The buttons keep their one visible word on one line.
      for (const name of ['Disconnect']) expect(await linesOfWords(page, 'ul.accesses button', name)).toEqual([[name, 1]]);
      await page.context().close();
    });
  }

  it('each Revoke button of the app accesses says which app (and device) it is for, in English and French, escaped; it revokes that one', async () => {
    const page = await signedIn(1280);
    await page.goto(`${suite.url}/account/accesses`);
    expect(await page.getByRole('button', { name: `Revoke ${WORDY_APP} (${DEVICE})`, exact: true }).count()).toBe(1);
    expect(await page.getByRole('button', { name: new RegExp(`^Revoke .*${LONG_APP}`) }).count()).toBe(1);
    expect(await page.getByRole('button', { name: `Revoke ${LONG_APP}`, exact: true }).count()).toBe(1);
    // An app id is shown as text, never as markup.
    expect(await page.getByRole('button', { name: 'Revoke <b>tag-app</b>', exact: true }).count()).toBe(1);
    // Every button is one of those three: none is left with the bare word.
    expect(await page.locator('ul.accesses button').count()).toBe(3);
    expect(await page.getByRole('button', { name: 'Revoke', exact: true }).count()).toBe(0);
    await page.goto(`${suite.url}/account/accesses?lang=fr`);
    expect(await page.getByRole('button', { name: `Révoquer ${WORDY_APP} (${DEVICE})`, exact: true }).count()).toBe(1);
    expect(await page.getByRole('button', { name: `Révoquer ${LONG_APP}`, exact: true }).count()).toBe(1);
    // The visible word is where the name starts (voice control says what it sees).
    expect(await page.getByRole('button', { name: `Révoquer ${LONG_APP}` }).textContent()).toBe('Révoquer');

    await page.goto(`${suite.url}/account/accesses?lang=en`);
    await page.getByRole('button', { name: 'Revoke <b>tag-app</b>', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'The access was revoked.' }).waitFor();
    expect(await page.locator('ul.accesses h2').allTextContents()).toEqual(expect.arrayContaining([expect.stringContaining(WORDY_APP), LONG_APP]));
    expect(await page.locator('ul.accesses > li').count()).toBe(2);
    await page.context().close();
  });

  it('each Disconnect button of the connected devices says which device it is for, in English and French; it disconnects that one', async () => {
    const page = await signedIn(1280);
    await page.goto(`${suite.url}/account/devices`);
    for (const name of ['Living-room TV', LONG_CLIENT, ONE_WORD_CLIENT]) expect(await page.getByRole('button', { name: `Disconnect ${name}`, exact: true }).count(), name).toBe(1);
    await page.goto(`${suite.url}/account/devices?lang=fr`);
    expect(await page.getByRole('button', { name: 'Déconnecter Living-room TV', exact: true }).count()).toBe(1);
    await page.getByRole('button', { name: 'Déconnecter Living-room TV', exact: true }).click();
    await page.getByRole('status').filter({ hasText: "L’appareil est déconnecté." }).waitFor();
    expect((await page.locator('ul.accesses h2').allTextContents()).sort()).toEqual([LONG_CLIENT, ONE_WORD_CLIENT].sort());
    await page.context().close();
  });
});
