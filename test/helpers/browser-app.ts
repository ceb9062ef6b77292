import { afterAll, beforeAll } from 'vitest';
import { createTestApp, listeningTestApp, type TestApp, type TestAppEnv } from './app.js';
import { useBrowser, type BrowserForTests } from './browser.js';

/** What `useBrowserApp` gives the tests of its describe; read it inside the tests. */
export interface BrowserApp extends BrowserForTests {
  /** The test app (its Fastify instance, config and logs). */
  readonly t: TestApp;
  /** The app's base URL (`http://127.0.0.1:<port>`). */
  readonly url: string;
}

/** How `useBrowserApp` builds the app: `createTestApp`'s options, and what to set up in it. */
export interface BrowserAppOptions extends NonNullable<Parameters<typeof createTestApp>[1]> {
  /** Runs once the app listens, before the tests (accounts, announced boxes, ...). */
  prepare?: (t: TestApp) => Promise<unknown>;
}

/**
 * The set-up of a browser test suite: the real app (with `env`, which may be a function of its URL)
 * listening on loopback, `prepare` run in it, and Chromium, all before the tests of the enclosing
 * describe and closed after them. Skip that describe with `browserSkipReason()`.
 */
export function useBrowserApp(env: TestAppEnv = {}, options: BrowserAppOptions = {}): BrowserApp {
  const { prepare, ...appOptions } = options;
  let t: TestApp | undefined;
  beforeAll(async () => {
    t = await listeningTestApp(env, appOptions);
    await prepare?.(t);
  });
  afterAll(() => t?.close());
  const browser = useBrowser();
  const app = (): TestApp => {
    if (!t) throw new Error('useBrowserApp: the app starts in beforeAll; use it inside the tests');
    return t;
  };
  return {
    get t() {
      return app();
    },
    get url() {
      return app().url;
    },
    get browser() {
      return browser.browser;
    },
    newPage: () => browser.newPage(),
  };
}
