import { describe, expect, it } from 'vitest';
import { SupportOriginClient } from '../../../src/sdk/support.js';
import { browserSkipReason, newWatchedPage } from '../../helpers/browser.js';
import { useBrowserApp } from '../../helpers/browser-app.js';
import { ADMIN, selfRelayingOriginEnv } from './helpers.js';

const skip = browserSkipReason();
const SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><circle cx="32" cy="32" r="30" fill="#1f5fd6"/></svg>';

describe.skipIf(Boolean(skip))(`the relay's link of an unknown code in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let sdk: SupportOriginClient;
  const suite = useBrowserApp((url) => selfRelayingOriginEnv(url), {
    prepare: async (t) => {
      sdk = new SupportOriginClient({ baseUrl: t.url, ...ADMIN });
    },
  });

  it('shows the relay\'s page with the refusal (404, not JSON), whose form then leads to a live code\'s page', async () => {
    const { page, problems } = await newWatchedPage(suite.browser);
    const answer = await page.goto(`${suite.url}/relay/pairing/zzzzzz`);
    expect(answer?.status()).toBe(404);
    expect(answer?.headers()['content-type']).toMatch(/^text\/html/);
    expect(await page.locator('body').textContent()).toContain('No session has this code');

    await page.route(/^https:\/\/avatars\.example\//, (route) => route.fulfill({ status: 200, contentType: 'image/svg+xml', body: SVG }));
    const created = await sdk.createSession({ id: 'relay-link-page', ttl: 600, supporterName: 'Thorsten', supporterAvatar: 'https://avatars.example/thorsten.svg' });
    await page.locator('input[name="code"]').fill(created.PairingCode!);
    await Promise.all([page.waitForURL(`${suite.url}/pairing/${created.PairingCode}`), page.locator('input[name="code"]').press('Enter')]);
    expect(problems).toEqual([]);
  });
});
