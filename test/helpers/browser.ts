import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { missingProgram } from './system.js';

/** Where Debian's chromium lives. */
export const CHROMIUM = process.env.PAIRGATE_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Why browser tests cannot run here (undefined when they can), naming what they are for (`purpose`);
 * throws under CI=true. Skip the describe with it: `describe.skipIf(Boolean(skip))`.
 */
export function browserSkipReason(purpose = 'browser tests of the pages'): string | undefined {
  // The path itself, not its last part: a PAIRGATE_CHROMIUM outside PATH is still found (`command -v` takes paths).
  return missingProgram(CHROMIUM, purpose);
}

/** The flags this machine needs (no sandbox as root, no background networking: the network is closed and its attempts would only add noise). */
const BASE_ARGS: readonly string[] = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * Launches headless Chromium (CHROMIUM) with the flags this machine needs, and `extraArgs` of the
 * caller's own (say `--host-resolver-rules` mapping test host names to the loopback).
 */
export function launchBrowser(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...BASE_ARGS, ...extraArgs] });
}

/** Collects console errors and CSP violations of a page, to assert that there were none. */
export function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  return problems;
}

/**
 * A page in a fresh context (its own cookies) whose console errors, CSP reports and page errors are
 * collected. A failed resource load is left out: flows that answer 4xx on purpose log one.
 */
export async function newWatchedPage(browser: Browser): Promise<{ page: Page; problems: string[] }> {
  const page = await (await browser.newContext()).newPage();
  page.setDefaultTimeout(10_000);
  const problems: string[] = [];
  page.on('console', (message) => {
    const text = message.text();
    if (/Content Security Policy|Refused to/i.test(text) || (message.type() === 'error' && !text.startsWith('Failed to load resource'))) problems.push(text);
  });
  page.on('pageerror', (error) => problems.push(error.message));
  return { page, problems };
}

/** What `useBrowser` gives the tests of its describe. */
export interface BrowserForTests {
  /** The Chromium the describe shares, for pages that need a context of their own (viewport, locale). */
  readonly browser: Browser;
  /** A watched page in a fresh context (its own cookies), as `newWatchedPage`. */
  newPage(): Promise<{ page: Page; problems: string[] }>;
}

/**
 * Chromium for the tests of the enclosing describe: launched before them, closed (with every page
 * and context) after them. Put it in a describe skipped by `browserSkipReason()`, which says why
 * on a machine without Chromium and fails under CI.
 */
export function useBrowser(): BrowserForTests {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(() => browser?.close());
  const launched = (): Browser => {
    if (!browser) throw new Error('useBrowser: the browser is launched in beforeAll; use it inside the tests');
    return browser;
  };
  return {
    get browser() {
      return launched();
    },
    newPage: () => newWatchedPage(launched()),
  };
}

/**
 * decision-gate.js's SETTLE_MS: how long a decision page (a form marked `data-decision-gate`) counts
 * no gesture once it is shown, loaded anew included (double-clickjacking). Kept equal to the
 * script's by test/web/decision-gate-browser.test.ts.
 */
export const DECISION_SETTLE_MS = 500;

/** When a decision page was last shown, for `decisionPageSettled` and `settledForDecision`. */
export interface DecisionPageShown {
  /**
   * The page was shown again just before the call (the focus taken out of it and given back, as an
   * audit's Tab round does): its quiet is counted from the call, not from its load.
   */
  readonly again?: boolean;
}

/** The page's Navigation Timing entry, read in the page (this project's TypeScript has no DOM types). */
type NavigationEntries = { getEntriesByType(type: 'navigation'): Array<{ domContentLoadedEventEnd: number }> };

/**
 * Waits until the decision page on `page` has been shown DECISION_SETTLE_MS: the quiet of its gate,
 * counted from the page's DOMContentLoaded (the gate's script, run in the head, starts it again then) or, with
 * `again`, from now, is over. Read on the page's own clock (performance.now()), the gate's; a page
 * on Playwright's fake clock (`page.clock`), which hides the page's Navigation Timing, counts from
 * now too.
 */
export async function decisionPageSettled(page: Page, shown: DecisionPageShown = {}): Promise<void> {
  // Functions, not strings: the decision pages' CSP forbids eval.
  const since = await page.evaluate((again) => {
    const timed = (performance as unknown as NavigationEntries).getEntriesByType('navigation').length > 0;
    return again || !timed ? performance.now() : 0;
  }, Boolean(shown.again));
  await page.waitForFunction(([settle, from]) => {
    const entries = (performance as unknown as NavigationEntries).getEntriesByType('navigation');
    const loaded = entries[0]?.domContentLoadedEventEnd ?? 0;
    return (entries.length === 0 || loaded > 0) && performance.now() > Math.max(loaded, from) + settle;
  }, [DECISION_SETTLE_MS, since] as const);
}

/**
 * Before a pointer press on a decision page's button (Accept, Approve, Confirm, Make admin, ...):
 * waits as a person does, who reads the page before deciding (decisionPageSettled), then moves the
 * pointer a little over the page. decision-gate.js counts a pointer press only once the page has seen
 * such a gesture after its quiet; a press right after the page loads is held back.
 */
export async function settledForDecision(page: Page, shown: DecisionPageShown = {}): Promise<void> {
  // On the decision page itself (a popup, say, may still be on its first blank document).
  await page.locator('form[data-decision-gate]').first().waitFor({ state: 'attached' });
  await decisionPageSettled(page, shown);
  // Two points, so that the pointer moves wherever it rested.
  await page.mouse.move(2, 2);
  await page.mouse.move(4, 3);
}
