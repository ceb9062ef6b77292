import { describe, expect, it } from 'vitest';
import { useBrowserApp } from './browser-app.js';
import { browserSkipReason } from './browser.js';

const skip = browserSkipReason('the test of the browser suites\' shared set-up');

describe.skipIf(Boolean(skip))(`useBrowserApp, the browser suites' set-up${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const prepared: string[] = [];
  const suite = useBrowserApp((url) => ({ PAIRGATE_PUBLIC_URL: url }), {
    prepare: async (t) => {
      prepared.push(t.url);
    },
  });

  it('builds the app with settings naming its own address, listens there, and prepares it before the tests', async () => {
    expect(suite.url).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
    expect(suite.t.config.PAIRGATE_PUBLIC_URL).toBe(suite.url);
    expect(prepared).toEqual([suite.url]);
    expect((await fetch(`${suite.url}/healthz`)).status).toBe(200);
  });

  it('gives each newPage a context of its own (no shared cookies) in the one shared browser', async () => {
    const first = await suite.newPage();
    const second = await suite.newPage();
    await first.page.goto(`${suite.url}/`);
    await first.page.context().addCookies([{ name: 'probe', value: '1', url: suite.url }]);
    expect(await second.page.context().cookies(suite.url)).toEqual([]);
    expect(first.page.context().browser()).toBe(suite.browser);
    expect(second.page.context().browser()).toBe(suite.browser);
  });
});
