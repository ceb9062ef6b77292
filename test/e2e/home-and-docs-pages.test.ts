import { describe, expect, it } from 'vitest';
import { createTestApp } from '../helpers/app.js';
import { useBrowserApp } from '../helpers/browser-app.js';
import { browserSkipReason, watchProblems } from '../helpers/browser.js';

const skip = browserSkipReason();

describe.skipIf(Boolean(skip))(`home and API docs pages in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const suite = useBrowserApp({ PAIRGATE_DEVICE_CLIENTS: JSON.stringify({ tv: 'Living room TV' }) });

  it('renders the OpenAPI document at /docs without CSP violations', async () => {
    const page = await suite.browser.newPage();
    const problems = watchProblems(page);
    await page.goto(`${suite.url}/docs`);
    await page.getByText('/api/v1/grants', { exact: false }).first().waitFor({ timeout: 15_000 });
    expect(await page.title()).toBe('pairgate API');
    // Its policy keeps the page unframable, once (a repeated directive is ignored, with a warning).
    expect(problems.filter((p) => /Content.Security.Policy|Refused/i.test(p))).toEqual([]);
    const policy = (await page.request.get(`${suite.url}/docs/static/index.html`)).headers()['content-security-policy'] ?? '';
    expect(policy.match(/frame-ancestors [^;]*/g)).toEqual(["frame-ancestors 'none'"]);
    expect(policy).not.toContain('upgrade-insecure-requests');
    expect(policy).not.toContain('validator.swagger.io');
    // pairgate's icon in the top bar, not Swagger UI's.
    const logo = page.locator('.topbar a.link img');
    expect(await logo.getAttribute('src')).toMatch(/^data:image\/svg\+xml;base64,/);
    await page.close();
  });

  it('the home page links to the doors, and the relay link leads to the code page', async () => {
    const page = await suite.browser.newPage();
    const problems = watchProblems(page);
    await page.goto(`${suite.url}/`);
    const links = await page.locator('ul.home-links a').allTextContents();
    expect(links).toEqual(['Enter a support code', 'Your account', 'Connect a device', 'Chat integrations', 'Boxes on your network', 'API documentation']);
    // Every link leads to a page that answers (a door switched off would not be offered).
    for (const href of await page.locator('ul.home-links a').evaluateAll((anchors) => anchors.map((a) => a.getAttribute('href')))) {
      const response = await page.request.get(`${suite.url}${href}`);
      expect({ href, status: response.status() }).toEqual({ href, status: 200 });
    }
    // Without a registered device client, the device page is not offered: nothing could use it.
    const bare = await createTestApp();
    try {
      const home = await (await fetch(`${await bare.listen()}/`)).text();
      expect(home).not.toContain('Connect a device');
      expect(home).toContain('Chat integrations');
    } finally {
      await bare.close();
    }
    await page.getByRole('link', { name: 'Enter a support code' }).click();
    await page.waitForURL(`${suite.url}/relay/`);
    expect(await page.locator('input').count()).toBeGreaterThan(0);
    expect(problems).toEqual([]);
    await page.close();
  });
});
