import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { initBoxIdentity } from '../../src/doors/registry/box-identity.js';
import { RegistryClient } from '../../src/sdk/registry.js';
import { SupportOriginClient } from '../../src/sdk/support.js';
import { browserSkipReason, settledForDecision } from '../helpers/browser.js';
import { useBrowserApp } from '../helpers/browser-app.js';
import { authRequest, postJson } from '../doors/access/form-client.js';
import { outboxMails, resetToken } from '../doors/access/outbox.js';
import { ADMIN_TOKEN, adminCall, DEVICE_ENV } from '../doors/device/device-helpers.js';
import { FakeMattermost, INSTALL_ENV, installationIdOf, mattermostId } from '../doors/install/install-helpers.js';
import { ADMIN, selfRelayingOriginEnv } from '../doors/support/helpers.js';

/*
 * An accessibility audit of every page a person sees, with axe-core (the engine behind most
 * accessibility checkers) run inside Chromium on each page and on its states that matter (a form
 * refused, a list with an entry, a chat long enough to scroll, a form sent and waiting), in English
 * and in French, and once more in the dark colour scheme (the stylesheet has a palette of its own
 * there, whose contrast counts as much) at a phone's 320 px. The rules are WCAG 2.0 and 2.1, levels
 * A and AA, and axe's best practices (landmarks, one h1, heading order, ...), none of them turned
 * off; with two checks axe does not make: every element the Tab key reaches shows a focus ring, and
 * no page scrolls sideways. `/docs` is Swagger UI's page, not ours: it is left out. Walking every
 * page, it also holds each to the server's CSP: Chromium reports no violation on any of them.
 */

const skip = browserSkipReason('the accessibility audit of the pages');

/** axe-core's browser script (a plain script: it sets `window.axe`). */
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** The rules run: WCAG 2.0 and 2.1 at levels A and AA, and axe's best practices. */
const RULE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];

/** Each test walks a door's pages, auditing each: longer than the default 30 s on two busy cores. */
const LONG = { timeout: 120_000 };

/** What a violation says in a failing test: page, rule, impact and where. */
interface Finding {
  page: string;
  rule: string;
  impact: string;
  help: string;
  targets: string[];
}

/** The password of every account the audit makes. */
const PASSWORD = 'a long enough password 1';

/** The variants each flow is audited in: a language (asked by the browser) and a colour scheme. */
const VARIANTS = [
  { name: 'English', lang: 'en', locale: 'en-US', colorScheme: 'light', viewport: { width: 1280, height: 720 } },
  { name: 'French', lang: 'fr', locale: 'fr-FR', colorScheme: 'light', viewport: { width: 1280, height: 720 } },
  // 320 CSS px: the width WCAG's reflow criterion (1.4.10) asks pages to work at.
  { name: 'English, dark scheme, phone width', lang: 'en', locale: 'en-US', colorScheme: 'dark', viewport: { width: 320, height: 640 } },
] as const;
type Variant = (typeof VARIANTS)[number];

/**
 * Runs axe in `page` and returns its violations, named by `label`. The pages' CSP (`script-src
 * 'self'`) refuses axe as an inline `<script>` (`page.addScriptTag({ content })`), so its source is
 * evaluated through the DevTools protocol (`page.evaluate`), which the CSP does not govern; the
 * page itself is left as it was served.
 */
async function audit(page: Page, label: string): Promise<Finding[]> {
  await page.evaluate(AXE_SOURCE);
  const options = JSON.stringify({ runOnly: { type: 'tag', values: RULE_TAGS }, resultTypes: ['violations'] });
  // A string, so the DOM types stay out of this Node project's type check.
  const violations = (await page.evaluate(`axe.run(document, ${options}).then((r) => r.violations.map((v) => ({ rule: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' ') + (n.failureSummary ? ' — ' + n.failureSummary.replace(/\\s+/g, ' ') : '')) })))`)) as Omit<Finding, 'page'>[];
  const where = `${label} (${page.url()})`;
  const findings: Finding[] = violations.map((v) => ({ page: where, ...v }));
  // Reflow (WCAG 1.4.10), which axe does not check either: at 320 px the page does not scroll sideways.
  if (await page.evaluate('document.documentElement.scrollWidth > document.documentElement.clientWidth')) findings.push({ page: where, rule: 'reflow', impact: 'serious', help: 'The page must not scroll sideways (WCAG 1.4.10; axe does not check it)', targets: ['html'] });
  const unseen = await focusWithoutRing(page);
  if (unseen.length > 0) findings.push({ page: where, rule: 'focus-visible', impact: 'serious', help: 'What the keyboard focuses must show a focus ring (WCAG 2.4.7; axe does not check it)', targets: unseen });
  return findings;
}

/**
 * What axe cannot see: whether each thing the Tab key reaches shows that it has the focus. Tabs
 * through the page (as a keyboard does, so that :focus-visible applies) and returns the elements
 * focused without an outline or a box-shadow ring. The page is left as it was: Tab moves nothing else.
 */
async function focusWithoutRing(page: Page): Promise<string[]> {
  const unseen: string[] = [];
  const seen = new Set<string>();
  // From wherever the focus is (an autofocused field), round the page once: past its end the
  // focus leaves the document for a step or two, then starts again at its top.
  let outside = 0;
  for (let step = 0; step < 60 && outside < 3; step += 1) {
    await page.keyboard.press('Tab');
    // A string, so the DOM types stay out of this Node project's type check.
    const focused = (await page.evaluate(`(() => {
      const e = document.activeElement;
      if (!e || e === document.body) return null;
      const path = [];
      for (let n = e; n && n !== document.body; n = n.parentElement) path.unshift(n.id ? n.tagName.toLowerCase() + '#' + n.id : n.tagName.toLowerCase());
      const style = getComputedStyle(e);
      const ring = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2) || style.boxShadow !== 'none';
      return { path: path.join(' > ') + ' "' + (e.textContent || e.getAttribute('value') || '').trim().slice(0, 40) + '"', ring };
    })()`)) as { path: string; ring: boolean } | null;
    outside = focused ? 0 : outside + 1;
    if (!focused) continue;
    if (seen.has(focused.path)) break;
    seen.add(focused.path);
    if (!focused.ring) unseen.push(focused.path);
  }
  return unseen;
}

/**
 * `audit` of the page with its forms as form-once.js leaves them once sent, the answer on its way
 * (`aria-busy`, styled by pairgate.css; the buttons stay enabled, so their text keeps its contrast
 * duty); the forms are then as before.
 */
async function auditSent(page: Page, label: string): Promise<Finding[]> {
  await page.evaluate(`document.querySelectorAll('form').forEach((form) => form.setAttribute('aria-busy', 'true'))`);
  const findings = await audit(page, `${label}, sent and waiting for its answer`);
  await page.evaluate(`document.querySelectorAll('form').forEach((form) => form.removeAttribute('aria-busy'))`);
  return findings;
}

/** Findings as lines, one per rule and page, for the failure message. */
function report(findings: Finding[]): string[] {
  return findings.map((f) => `${f.page}: ${f.rule} [${f.impact}] ${f.help}\n    ${f.targets.join('\n    ')}`);
}

describe.skipIf(Boolean(skip))(`accessibility of the pages (axe-core, WCAG 2.1 A and AA), in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let sdk: SupportOriginClient;
  let announceBox: () => Promise<unknown>;
  const boxFolder = mkdtempSync(join(tmpdir(), 'pairgate-a11y-box-'));
  afterAll(() => rmSync(boxFolder, { recursive: true, force: true }));
  // Every door in one server: the origin also serves, at /relay, the relay it publishes on.
  const suite = useBrowserApp((url) => ({ ...DEVICE_ENV, PAIRGATE_DEVICE_ADMIN_TOKEN: ADMIN_TOKEN, ...INSTALL_ENV, ...selfRelayingOriginEnv(url), PAIRGATE_RATE_LIMIT_MAX: '100000', PAIRGATE_CODE_MISSES_PER_HOUR: '1000', PAIRGATE_TRUST_PROXY: '127.0.0.1' }), {
    prepare: async (t) => {
      sdk = new SupportOriginClient({ baseUrl: t.url, ...ADMIN });
      // A box on the loopback, the browser's own network: /boxes lists it once announced (for 120 s: each test announces it again).
      const box = await initBoxIdentity(join(boxFolder, 'box'), { name: 'a11y box' });
      announceBox = () => new RegistryClient({ baseUrl: t.url }).announce(box, { fingerprint: box.fingerprint, local_origin: 'https://192.168.5.5:4443', tunnel_origin: 'https://box.example.test', name: 'Living room' });
    },
  });

  /**
   * A page in a fresh context (own cookies) in the variant's language and colour scheme, and what
   * Chromium said against the pages' CSP meanwhile (`csp`, to be empty once the flow is walked): an
   * inline script or style, a picture or a form target the policy does not name, a source it cannot read.
   */
  const open = async (variant: Variant, network?: string): Promise<{ context: BrowserContext; page: Page; csp: string[] }> => {
    // From `network` when given (X-Forwarded-For, the proxy trusted): the accounts the variants
    // register (20 an hour per network) do not all fit in the browser's own.
    const context = await suite.browser.newContext({ locale: variant.locale, colorScheme: variant.colorScheme, viewport: variant.viewport, ...(network ? { extraHTTPHeaders: { 'x-forwarded-for': network } } : {}) });
    const csp: string[] = [];
    context.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) csp.push(`${message.page()?.url() ?? '?'}: ${message.text()}`);
    });
    // The support door's pictures come from other sites: served here, the browser stays on loopback.
    await context.route(/^https:\/\/(avatars|img)\.example\//, (route) => route.fulfill({ status: 200, contentType: 'image/svg+xml', body: '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><circle cx="32" cy="32" r="30" fill="#1f5fd6"/></svg>' }));
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    return { context, page, csp };
  };

  /** Registers `username` on the register page (which signs in). */
  const register = async (page: Page, username: string): Promise<void> => {
    await page.goto(`${suite.url}/account/register`);
    await page.locator('#email').fill(`${username}@example.test`);
    await page.locator('#username').fill(username);
    await page.locator('#password').fill(PASSWORD);
    await page.locator('#password').press('Enter');
    await page.waitForURL((url) => url.pathname === '/account/accesses');
  };

  /** Submits the form whose field or button `selector` names, and waits for the page it leads to. */
  const submit = async (page: Page, selector: string): Promise<void> => {
    await Promise.all([page.waitForNavigation(), page.locator(selector).first().click()]);
  };
  /**
   * `submit` for a decision (Accept, Approve, Confirm, Cancel): the audit's Tab round takes the focus
   * out of the page and back, and a page given the focus back counts no pointer gesture for 500 ms
   * (double-clickjacking, decision-gate.js), so the click waits that out as a person does.
   */
  const decide = async (page: Page, selector: string): Promise<void> => {
    await settledForDecision(page, { again: true });
    await submit(page, selector);
  };
  /** Fills `fields` (selector: value) of the form posting to `action`, sends it, and audits the refusal it gets back as `name`. */
  const auditRefused = async (page: Page, action: string, fields: Record<string, string>, name: string): Promise<Finding[]> => {
    for (const [selector, value] of Object.entries(fields)) await page.locator(selector).fill(value);
    await submit(page, `form[action="${action}"] button[type=submit]`);
    await page.locator('#form-error').waitFor();
    return audit(page, name);
  };

  describe.each(VARIANTS)('$name', (variant) => {
    const tag = `${variant.lang}${variant.colorScheme === 'dark' ? '-dark' : ''}`;

    it('public pages: home, boxes, the error page, sign-in, register', LONG, async () => {
      const { context, page, csp } = await open(variant);
      const findings: Finding[] = [];
      try {
        await page.goto(`${suite.url}/`);
        findings.push(...(await audit(page, 'home')));
        await announceBox();
        await page.goto(`${suite.url}/boxes`);
        await page.locator('ul.boxes').waitFor();
        findings.push(...(await audit(page, 'boxes, one box')));
        expect((await page.goto(`${suite.url}/no-such-page`))?.status()).toBe(404);
        findings.push(...(await audit(page, 'error page (404)')));

        await page.goto(`${suite.url}/account/signin`);
        findings.push(...(await audit(page, 'sign-in')));
        findings.push(...(await auditRefused(page, '/account/signin', { '#login': 'nobody-here', '#password': 'wrong password' }, 'sign-in, refused')));

        await page.goto(`${suite.url}/account/register`);
        findings.push(...(await audit(page, 'register')));
        findings.push(...(await auditRefused(page, '/account/register', { '#username': 'x' }, 'register, refused')));
      } finally {
        await context.close();
      }
      expect(report(findings)).toEqual([]);
      expect(csp).toEqual([]);
    });

    it('password reset: the request, its mail sent, the new password, the link used', LONG, async () => {
      const { context, page, csp } = await open(variant);
      const findings: Finding[] = [];
      try {
        await page.goto(`${suite.url}/account/reset`);
        findings.push(...(await audit(page, 'password reset request')));
        await register(await context.newPage(), `reset-${tag}`);
        await page.locator('#login').fill(`reset-${tag}`);
        await submit(page, 'form[action="/account/reset"] button[type=submit]');
        await page.locator('[role=status]').waitFor();
        findings.push(...(await audit(page, 'password reset request, sent')));
        const token = resetToken(outboxMails(suite.t.config.PAIRGATE_DATA_DIR).filter((mail) => mail.includes(`reset-${tag}@`)).at(-1)!);
        await page.goto(`${suite.url}/account/reset/confirm?token=${token}`);
        findings.push(...(await audit(page, 'new password')));
        findings.push(...(await auditRefused(page, '/account/reset/confirm', { '#password': 'short' }, 'new password, refused')));
        await page.locator('#password').fill('another long password 2');
        await submit(page, 'form[action="/account/reset/confirm"] button[type=submit]');
        findings.push(...(await audit(page, 'new password, done')));
        await page.goto(`${suite.url}/account/reset/confirm?token=${token}`);
        findings.push(...(await audit(page, 'new password, link used')));
      } finally {
        await context.close();
      }
      expect(report(findings)).toEqual([]);
      expect(csp).toEqual([]);
    });

    it('signed in: accesses, password, deletion, sign-out; the access consent and its outcome', LONG, async () => {
      const { context, page, csp } = await open(variant);
      const findings: Finding[] = [];
      try {
        await register(page, `account-${tag}`);
        findings.push(...(await audit(page, 'accesses, none')));
        const request = (await postJson(`${suite.url}/access`, authRequest({
          requestingAppId: `a11y-app-${tag}`,
          languageCode: variant.lang,
          deviceName: 'Kitchen tablet',
          requestedPermissions: [{ streamId: 'diary', level: 'read', defaultName: 'Diary' }, { streamId: '*', level: 'contribute' }],
          clientData: { 'app-web-auth:description': { type: 'note/txt', content: '# Our app\n\nIt reads your **diary** to draw [charts](https://app.example/charts), under the stream `diary-entries-of-the-current-year-and-the-previous-one`.' } },
        }))).body;
        await page.goto(String(request.url));
        findings.push(...(await audit(page, 'access consent')));
        findings.push(...(await auditSent(page, 'access consent')));
        await decide(page, 'button[name=decision][value=accept]');
        await page.locator('#outcome').waitFor();
        findings.push(...(await audit(page, 'access granted')));
        await page.goto(`${suite.url}/account/accesses`);
        findings.push(...(await audit(page, 'accesses, one')));
        findings.push(...(await auditSent(page, 'accesses, one')));
        await submit(page, 'form[action$="/revoke"] button');
        findings.push(...(await audit(page, 'accesses, revoked')));

        await page.goto(`${suite.url}/account/password`);
        findings.push(...(await audit(page, 'change password')));
        findings.push(...(await auditRefused(page, '/account/password', { '#current': 'not the password', '#password': 'another long password 2' }, 'change password, refused')));
        await page.goto(`${suite.url}/account/delete`);
        findings.push(...(await audit(page, 'delete account')));
        findings.push(...(await auditRefused(page, '/account/delete', { '#password': 'not the password' }, 'delete account, refused')));
        await page.goto(`${suite.url}/account/signout`);
        findings.push(...(await audit(page, 'sign out')));
      } finally {
        await context.close();
      }
      expect(report(findings)).toEqual([]);
      expect(csp).toEqual([]);
    });

    it('device: code entry, a wrong code, consent, done, the devices list, a request whose scopes were withdrawn', LONG, async () => {
      const { context, page, csp } = await open(variant);
      const findings: Finding[] = [];
      try {
        await register(page, `device-${tag}`);
        const started = await fetch(`${suite.url}/oauth/device_authorization`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'KioskOS/3' }, body: new URLSearchParams({ client_id: 'cli', scope: 'read write' }) });
        const device = (await started.json()) as { user_code: string };
        await page.goto(`${suite.url}/device`);
        findings.push(...(await audit(page, 'device code')));
        findings.push(...(await auditRefused(page, '/device', { '#user_code': 'BCDF-GHJK' }, 'device code, wrong')));
        await page.locator('#user_code').fill(device.user_code);
        await submit(page, 'form[action="/device"] button[type=submit]');
        await page.locator('#client-id').waitFor();
        findings.push(...(await audit(page, 'device consent')));
        await decide(page, 'button[name=decision][value=approve]');
        await page.locator('#outcome').waitFor();
        findings.push(...(await audit(page, 'device connected')));
        await page.goto(`${suite.url}/account/devices`);
        findings.push(...(await audit(page, 'devices, one')));

        // A client registered through the admin API, narrowed after its device asked: the code typed
        // then (signed in) leads to the 410 page that says which access it may no longer ask for.
        const narrowed = `a11y-narrowed-${tag}`;
        expect((await adminCall(suite.url, 'PUT', `/${narrowed}`, { name: 'Hallway screen', scopes: ['read', 'admin'] })).status).toBe(201);
        const asked = await fetch(`${suite.url}/oauth/device_authorization`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: narrowed, scope: 'read admin' }) });
        const withdrawn = (await asked.json()) as { user_code: string };
        expect((await adminCall(suite.url, 'PUT', `/${narrowed}`, { name: 'Hallway screen', scopes: ['read'] })).status).toBe(200);
        await page.goto(`${suite.url}/device`);
        await page.locator('#user_code').fill(withdrawn.user_code);
        const [shown] = await Promise.all([page.waitForNavigation(), page.locator('form[action="/device"] button[type=submit]').click()]);
        expect(shown?.status()).toBe(410);
        await page.locator('#scope-withdrawn').waitFor();
        findings.push(...(await audit(page, 'device request, scopes withdrawn (410)')));
      } finally {
        await context.close();
      }
      expect(report(findings)).toEqual([]);
      expect(csp).toEqual([]);
    });

    it('install: organizations, setup, link token, deletion', LONG, async () => {
      const { context, page, csp } = await open(variant);
      const findings: Finding[] = [];
      try {
        await register(page, `install-${tag}`);
        await page.goto(`${suite.url}/integrations`);
        findings.push(...(await audit(page, 'integrations, none')));
        await page.locator('#org-name').fill(`Org ${tag}`);
        await submit(page, 'form[action="/integrations/orgs"] button');
        await page.locator('#done').waitFor();
        findings.push(...(await audit(page, 'integrations, one organization')));
        await page.locator('input[name=username]').fill('nobody at all');
        await submit(page, 'form[action$="/members"] button');
        await page.locator('[aria-invalid=true]').waitFor();
        findings.push(...(await audit(page, 'integrations, member refused')));
        // An invitation, as its admin sees it pending and as its invitee, in a browser of their own, gets it.
        const invitee = await open(variant, `198.51.100.${VARIANTS.indexOf(variant) + 10}`);
        try {
          await register(invitee.page, `invitee-${tag}`);
          await page.locator('input[name=username]').fill(`invitee-${tag}`);
          await submit(page, 'form[action$="/members"] button');
          await page.locator('ul.pending-invitations').waitFor();
          findings.push(...(await audit(page, 'integrations, invitation pending')));
          await invitee.page.goto(`${suite.url}/integrations`);
          await invitee.page.locator('ul.invitations > li').waitFor();
          findings.push(...(await audit(invitee.page, 'integrations, invitation received')));
          await decide(invitee.page, 'form[action$="/accept"] button');
          findings.push(...(await audit(invitee.page, 'integrations, invitation accepted')));
          csp.push(...invitee.csp);
        } finally {
          await invitee.context.close();
        }
        // A declined invitation, as its invitee sees it remembered, and its admin's invitation again refused.
        const decliner = await open(variant, `198.51.100.${VARIANTS.indexOf(variant) + 20}`);
        try {
          await register(decliner.page, `decliner-${tag}`);
          await page.locator('input[name=username]').fill(`decliner-${tag}`);
          await submit(page, 'form[action$="/members"] button');
          await decliner.page.goto(`${suite.url}/integrations`);
          await decliner.page.locator('ul.invitations > li').waitFor();
          await submit(decliner.page, 'form[action$="/decline"] button');
          await decliner.page.locator('ul.declined > li').waitFor();
          findings.push(...(await audit(decliner.page, 'integrations, invitation declined')));
          csp.push(...decliner.csp);
          await page.locator('input[name=username]').fill(`decliner-${tag}`);
          await submit(page, 'form[action$="/members"] button');
          await page.locator('[aria-invalid=true]').waitFor();
          findings.push(...(await audit(page, 'integrations, invitation refused after a decline')));
        } finally {
          await decliner.context.close();
        }
        await submit(page, 'form[action$="/mattermost/setup"] button');
        await page.locator('#setup-manifest_link').waitFor();
        findings.push(...(await audit(page, 'mattermost setup')));
        const manifestLink = (await page.locator('#setup-manifest_link').textContent())!;
        const secret = (await page.locator('#setup-jwt_secret').textContent())!;
        const installed = await new FakeMattermost(suite.url, { now: () => Date.now() }).install(installationIdOf(manifestLink), secret, { id: mattermostId(`admin${tag}`), username: 'admin' });
        expect(installed.status).toBe(200);
        await page.goto(`${suite.url}/integrations`);
        findings.push(...(await audit(page, 'integrations, installed')));
        await submit(page, 'form[action$="/mattermost/link-token"] button');
        await page.locator('#link-token').waitFor();
        findings.push(...(await audit(page, 'link token')));
        await page.goto(`${suite.url}/integrations`);
        await submit(page, 'form.delete-org button');
        await page.locator('#confirm-name').waitFor();
        findings.push(...(await audit(page, 'delete organization')));
        await page.locator('#confirm-name').fill('not its name');
        await submit(page, 'form[action$="/delete"] button[type=submit]');
        await page.locator('#confirm-name-error').waitFor();
        findings.push(...(await audit(page, 'delete organization, refused')));
      } finally {
        await context.close();
      }
      expect(report(findings)).toEqual([]);
      expect(csp).toEqual([]);
    });

    it('support: the relay\'s code page, confirmation, session, ended; declined', LONG, async () => {
      const { context, page, csp } = await open(variant);
      const findings: Finding[] = [];
      try {
        const id = `a11y-${tag}`;
        const created = await sdk.createSession({ id, ttl: 600, supporterName: 'Thorsten', supporterAvatar: 'https://avatars.example/thorsten.svg' });
        const supporter = await sdk.attach(id);
        await page.goto(`${suite.url}/relay/`);
        findings.push(...(await audit(page, 'relay code')));
        await page.locator('#code').fill('zzzzzz');
        await submit(page, '#code ~ .actions button');
        await page.locator('#code-error').waitFor();
        findings.push(...(await audit(page, 'relay code, wrong')));
        await page.locator('#code').fill(created.PairingCode!);
        await submit(page, '#code ~ .actions button');
        await page.locator('#question').waitFor();
        findings.push(...(await audit(page, 'support confirmation')));
        const connected = supporter.next((e) => e.type === 'state' && e.state === 'connected');
        await decide(page, 'button[name=decision][value=accept]');
        await connected;
        await expect.poll(() => page.locator('#message').isEnabled()).toBe(true);
        // A chat longer than its box, which then scrolls.
        for (let line = 1; line <= 15; line += 1) supporter.say(`Line ${line} of what I have to say`);
        await expect.poll(() => page.locator('#messages li').count()).toBe(15);
        await page.locator('#message').fill('Thanks');
        await page.locator('#message').press('Enter');
        await expect.poll(() => page.locator('#messages li').count()).toBe(16);
        findings.push(...(await audit(page, 'support session')));
        supporter.end();
        await expect.poll(() => page.locator('#message').isDisabled()).toBe(true);
        findings.push(...(await audit(page, 'support session, ended by the supporter')));
        await page.reload();
        findings.push(...(await audit(page, 'support session ended')));

        const declined = await sdk.createSession({ id: `${id}-no`, ttl: 600, supporterName: 'Thorsten', supporterAvatar: 'https://avatars.example/thorsten.svg' });
        await page.goto(`${suite.url}/pairing/${declined.PairingCode}`);
        await decide(page, 'button[name=decision][value=decline]');
        findings.push(...(await audit(page, 'support declined')));
        await page.goto(`${suite.url}/pairing/${declined.PairingCode}`);
        findings.push(...(await audit(page, 'support code already declined')));
      } finally {
        await context.close();
      }
      expect(report(findings)).toEqual([]);
      expect(csp).toEqual([]);
    });
  });
});
