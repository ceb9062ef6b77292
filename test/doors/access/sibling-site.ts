import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { launchBrowser } from '../../helpers/browser.js';

/**
 * A hostile sibling of pairgate's host, for cross-site request forgery tests in Chromium:
 * pairgate is reached as `auth.pairgate.localhost` and the attacker's site as
 * `evil.pairgate.localhost` (both mapped to the loopback), so they are the same site but not the
 * same origin. Chromium treats localhost names as secure origins, so it sends them Fetch Metadata
 * as it would an https deployment. A sibling can set cookies for the parent domain (cookie
 * tossing), so it can plant a CSRF cookie of its choosing in the victim's browser, and its form
 * posts carry SameSite cookies.
 */
export const SITE_DOMAIN = 'pairgate.localhost';

/** Launches the tests' Chromium (launchBrowser: PAIRGATE_CHROMIUM, the shared flags) with every `*.pairgate.localhost` name leading to the loopback. */
export function launchSiteBrowser(): Promise<Browser> {
  return launchBrowser([`--host-resolver-rules=MAP *.${SITE_DOMAIN} 127.0.0.1`]);
}

/** A form the attacker's page posts on load, after planting `cookie` for the whole site. */
export interface ForgedForm {
  action: string;
  fields: Record<string, string>;
  /** `name=value` of the cookie planted with `Domain=pairgate.localhost` and this `path`. */
  cookie: { name: string; value: string; path: string };
}

/** The attacker's sibling site: `GET /<n>` serves forged form n. */
export class SiblingSite {
  readonly forms: ForgedForm[] = [];
  private server: Server | undefined;
  base = '';

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      const form = this.forms[Number((request.url ?? '/').slice(1))];
      if (!form) return void response.writeHead(404).end();
      const escape = (value: string) => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
      const inputs = Object.entries(form.fields).map(([name, value]) => `<input type="hidden" name="${escape(name)}" value="${escape(value)}">`).join('');
      response.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'set-cookie': `${form.cookie.name}=${form.cookie.value}; Domain=${SITE_DOMAIN}; Path=${form.cookie.path}`,
      }).end(`<!doctype html><title>cute cats</title><form method="post" action="${escape(form.action)}">${inputs}</form><script>document.forms[0].submit()</script>`);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.base = `http://evil.${SITE_DOMAIN}:${(this.server.address() as AddressInfo).port}`;
  }

  /** The URL of the page that posts `form`. */
  page(form: ForgedForm): string {
    this.forms.push(form);
    return `${this.base}/${this.forms.length - 1}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** What a sibling-attack test works with: pairgate, its address as `auth.<site>`, the attacker and a browser. */
export interface SiblingAttack {
  readonly t: TestApp;
  /** pairgate's base URL under the shared site (`http://auth.pairgate.localhost:<port>`). */
  readonly pairgate: string;
  readonly evil: SiblingSite;
  readonly browser: Browser;
  /** A fresh victim browser context, registered and signed in to pairgate as `username`. */
  victim(username: string): Promise<{ context: BrowserContext; page: Page }>;
}

/**
 * Starts pairgate (with `env`), the attacker's sibling site and Chromium before the tests of the
 * enclosing describe, and stops them after.
 */
export function useSiblingAttack(env: Record<string, string>): SiblingAttack {
  let t: TestApp | undefined;
  let pairgate = '';
  let browser: Browser | undefined;
  const evil = new SiblingSite();
  beforeAll(async () => {
    t = await createTestApp(env);
    pairgate = (await t.listen()).replace('127.0.0.1', `auth.${SITE_DOMAIN}`);
    await evil.start();
    browser = await launchSiteBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await evil.stop();
    await t?.close();
  });
  return {
    get t() {
      return t!;
    },
    get pairgate() {
      return pairgate;
    },
    evil,
    get browser() {
      return browser!;
    },
    async victim(username) {
      const context = await browser!.newContext();
      const page = await context.newPage();
      page.setDefaultTimeout(10_000);
      await page.goto(`${pairgate}/account/register`);
      await page.fill('#username', username);
      await page.fill('#email', `${username}@example.test`);
      await page.fill('#password', 'victim password 1');
      await page.click('button[type=submit]');
      await page.waitForURL(/\/account\/accesses/);
      return { context, page };
    },
  };
}
