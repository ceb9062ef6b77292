import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { browserSkipReason } from '../helpers/browser.js';
import { useBrowserApp } from '../helpers/browser-app.js';
import { INSTALL_ENV, Member } from '../doors/install/install-helpers.js';
import { selfRelayingOriginEnv } from '../doors/support/helpers.js';

const skip = browserSkipReason('the layout tests of command lines (pairgate.css)');
const PASSWORD = 'command lines password';

/**
 * The lines `text` (inside the element `selector`) is laid out on: the distinct tops of its
 * Range's client rectangles. One line: the text is not broken.
 */
async function linesOf(page: Page, selector: string, text: string): Promise<number> {
  // A string, run in the page: the tests are compiled without the DOM's types.
  return page.evaluate(`(() => {
    const node = document.querySelector(${JSON.stringify(selector)}).firstChild;
    const at = node.textContent.indexOf(${JSON.stringify(text)});
    if (at < 0) throw new Error('not in the element: ' + ${JSON.stringify(text)});
    const range = document.createRange();
    range.setStart(node, at);
    range.setEnd(node, at + ${text.length});
    return new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top))).size;
  })()`);
}

/** Whether the page is wider than the window (it scrolls sideways). */
async function overflows(page: Page): Promise<boolean> {
  return page.evaluate('document.documentElement.scrollWidth > document.documentElement.clientWidth');
}

/** Whether the element `selector` holds its text within its own box (wrapped, not overflowing it). */
async function fitsItsBox(page: Page, selector: string): Promise<boolean> {
  return page.evaluate(`(() => { const e = document.querySelector(${JSON.stringify(selector)}); return e.scrollWidth <= e.clientWidth; })()`);
}

describe.skipIf(Boolean(skip))(`command lines in code blocks, at a phone's width and a desktop's${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const suite = useBrowserApp((url) => ({ ...INSTALL_ENV, ...selfRelayingOriginEnv(url) }), {
    prepare: async (t) => {
      const admin = new Member(t.url);
      await admin.register('lines-admin', PASSWORD);
      await admin.createOrg('An organization with a rather long name for a phone');
    },
  });

  const pageAt = async (width: number) => {
    const context = await suite.browser.newContext({ viewport: { width, height: 800 } });
    return context.newPage();
  };

  for (const width of [375, 1280]) {
    it(`${width} px: the relay page's "pairgate join --relay <url>" keeps its option whole, and the page does not scroll sideways`, async () => {
      const page = await pageAt(width);
      await page.goto(`${suite.url}/relay/`);
      const command = (await page.locator('#join-command').textContent())!;
      expect(command).toMatch(/^pairgate join --relay http:\/\/127\.0\.0\.1:\d+/);
      expect(await linesOf(page, '#join-command', '--relay')).toBe(1);
      // The command is never broken at all: one line (scrolling inside its box if longer than the card).
      expect(await linesOf(page, '#join-command', command)).toBe(1);
      expect(await overflows(page)).toBe(false);
      await page.context().close();
    });

    it(`${width} px: the setup page's install command is one line, its link stays in its block, and the page does not scroll sideways`, async () => {
      const page = await pageAt(width);
      await page.goto(`${suite.url}/integrations`);
      await page.getByLabel('Username or e-mail').fill('lines-admin');
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('button', { name: 'Set up Mattermost' }).click();
      await page.getByRole('heading', { name: 'Set up Mattermost' }).waitFor();
      const command = (await page.locator('#setup-install_command').textContent())!;
      expect(command).toMatch(/^\/apps install http http:\/\/127\.0\.0\.1:\d+\/mattermost\/[\w-]+\/manifest\.json$/);
      expect(await linesOf(page, '#setup-install_command', command)).toBe(1);
      // A long link wraps inside its block, which stays within the card.
      expect(await fitsItsBox(page, '#setup-manifest_link')).toBe(true);
      expect(await overflows(page)).toBe(false);
      // An account page keeps to the window too.
      await page.goto(`${suite.url}/account/devices`);
      expect(await overflows(page)).toBe(false);
      await page.context().close();
    });
  }
});
