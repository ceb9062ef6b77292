import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserSkipReason, settledForDecision } from '../../helpers/browser.js';
import { useBrowserApp } from '../../helpers/browser-app.js';
import { authRequest, getJson, postJson } from './form-client.js';

const skip = browserSkipReason('the access door browser tests');

describe.skipIf(Boolean(skip))(`access door pages in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let page: Page;
  let smtp: SMTPServer;
  let smtpPort: number;
  let appServer: Server;
  let appBase: string;
  const mails: string[] = [];
  const appHits: string[] = [];
  const consoleProblems: string[] = [];
  const password = 'browser password 1';

  const watch = (target: Page): Page => {
    target.on('console', (message) => {
      const text = message.text();
      // Error statuses are part of the flows (401 wrong password, 404 used link, no favicon); CSP
      // violations and script errors are not.
      const expectedStatus = text.startsWith('Failed to load resource');
      if (/Content Security Policy|Refused to/i.test(text) || (message.type() === 'error' && !expectedStatus)) consoleProblems.push(`${target.url()}: ${text}`);
    });
    target.on('pageerror', (error) => consoleProblems.push(`${target.url()}: ${error.message}`));
    target.setDefaultTimeout(10_000);
    return target;
  };

  // The mail receiver and the app's own site listen before the app starts (hooks run in the order
  // they are declared), since its settings name the receiver; they close after it and Chromium.
  beforeAll(async () => {
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData(stream, _session, callback) {
        let text = '';
        stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        stream.on('end', () => {
          mails.push(text);
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    smtpPort = (smtp.server.address() as AddressInfo).port;
    // The third-party app's own site: where returnURL leads.
    appServer = createServer((request, response) => {
      appHits.push(request.url ?? '');
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>app</title><p>back in the app</p>');
    });
    await new Promise<void>((resolve) => appServer.listen(0, '127.0.0.1', resolve));
    appBase = `http://127.0.0.1:${(appServer.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => (appServer ? appServer.close(() => resolve()) : resolve()));
  });
  // A function (its URL unused) so that the settings are read as the app starts, once the receiver listens.
  const suite = useBrowserApp(() => ({ PAIRGATE_SCRYPT_COST: '10', PAIRGATE_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`, PAIRGATE_MAIL_FROM: 'pairgate <noreply@pairgate.test>' }));
  beforeAll(async () => {
    page = watch(await (await suite.browser.newContext()).newPage());
  });

  const startRequest = async (overrides: Record<string, unknown> = {}) => (await postJson(`${suite.url}/access`, authRequest(overrides))).body;

  it('registers with a labelled, keyboard-usable form', async () => {
    await page.goto(`${suite.url}/account/register`);
    await expect.poll(() => page.evaluate('document.activeElement && document.activeElement.id')).toBe('email'); // focus starts in the form
    await page.getByLabel('E-mail').fill('browser@example.test');
    await page.getByLabel('Username').fill('browser-user');
    await page.getByLabel('Password').fill(password);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${suite.url}/account/accesses`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('App accesses');
    expect(await page.textContent('body')).toContain('No app has access to your account.');
  });

  it('consent accept: the screen lists the permissions, Accept (by keyboard) grants and the app learns it by polling', async () => {
    const request = await startRequest({ requestingAppId: 'browser-app-1', requestedPermissions: [{ streamId: 'diary', level: 'read', defaultName: 'My diary' }, { streamId: '*', level: 'contribute' }] });
    await page.goto(String(request.url));
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Allow access?');
    const items = await page.locator('ul.permissions li').allTextContents();
    expect(items).toEqual(['read My diary (stream "diary")', 'contribute to all data']); // the name reads differently from the id: the id is shown too
    // No returnURL: the page says nothing of going anywhere.
    expect(await page.locator('#returns-to').count()).toBe(0);
    // The question has the focus, never Accept (a key pressed as the page opens decides nothing:
    // consent-keyjacking-browser.test.ts); Accept is the next stop.
    await expect.poll(() => page.evaluate('document.activeElement && document.activeElement.tagName')).toBe('H1');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement && document.activeElement.textContent')).toBe('Accept');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#outcome[data-outcome="ACCEPTED"]');
    expect(await page.textContent('#outcome')).toContain('Access granted to browser-app-1');
    const polled = await getJson(String(request.poll));
    expect(polled.body).toMatchObject({ status: 'ACCEPTED', username: 'browser-user' });
  });

  it('consent refuse: the app learns REFUSED', async () => {
    const request = await startRequest({ requestingAppId: 'browser-app-2' });
    await page.goto(String(request.url));
    await settledForDecision(page);
    await page.getByRole('button', { name: 'Refuse' }).click();
    await page.waitForSelector('#outcome[data-outcome="REFUSED"]');
    expect((await getJson(String(request.poll))).body).toMatchObject({ status: 'REFUSED', code: 403 });
  });

  it('an app id all in Cyrillic that reads as a Latin one is shown with the script named, right under the question', async () => {
    const request = await startRequest({ requestingAppId: 'раураӏ' });
    await page.goto(String(request.url));
    const note = page.getByRole('note').filter({ hasText: 'Cyrillic' });
    expect(await note.isVisible()).toBe(true);
    expect(await note.textContent()).toBe('The name of this app is written in Cyrillic letters, not Latin ones: it may look like the name of an app you know and be another.');
    // Between the question and the permissions, where the eye reads the name.
    expect(await page.evaluate('document.querySelector("#asks").nextElementSibling.id')).toBe('app-script');
    await settledForDecision(page);
    await page.getByRole('button', { name: 'Refuse' }).click();
    await page.waitForSelector('#outcome[data-outcome="REFUSED"]');
  });

  it('a matching access asks for one click on a compact screen; the auth URL alone issues nothing', async () => {
    const request = await startRequest({ requestingAppId: 'browser-app-1', requestedPermissions: [{ streamId: '*', level: 'contribute' }, { streamId: 'diary', level: 'read' }] });
    // Opened as a link from elsewhere would be: a plain navigation carrying the session cookie.
    await page.goto(String(request.authUrl));
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('browser-app-1 asks again for the access it already has');
    expect(await page.locator('section.description').count()).toBe(0);
    // Nothing on the page submits by itself: after a while the request is still waiting.
    await page.waitForTimeout(1_000);
    expect(page.url()).toBe(String(request.authUrl));
    expect((await getJson(String(request.poll))).body.status).toBe('NEED_SIGNIN');
    // One deliberate click (here the keyboard: Accept is the first stop after the question).
    await expect.poll(() => page.evaluate('document.activeElement && document.activeElement.tagName')).toBe('H1');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement && document.activeElement.textContent')).toBe('Accept');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#outcome[data-outcome="ACCEPTED"]');
    expect((await getJson(String(request.poll))).body.status).toBe('ACCEPTED');
  });

  it('redirects to the returnURL with URL-encoded prYv parameters', async () => {
    const request = await startRequest({ requestingAppId: 'browser-app-3', returnURL: `${appBase}/cb?from=pair%20gate&` });
    await page.goto(String(request.url));
    // The app names where the answer goes: the person sees it before deciding.
    expect(await page.textContent('#returns-to')).toBe(`After you answer, you go back to ${new URL(appBase).host}.`);
    await settledForDecision(page);
    await page.getByRole('button', { name: 'Accept' }).click();
    await page.waitForURL((url) => url.href.startsWith(`${appBase}/cb`));
    const landed = new URL(page.url());
    const polled = (await getJson(String(request.poll))).body;
    expect(Object.fromEntries(landed.searchParams)).toMatchObject({ from: 'pair gate', prYvkey: request.key, prYvstatus: 'ACCEPTED', prYvusername: 'browser-user', prYvtoken: polled.token, prYvapiEndpoint: polled.apiEndpoint, prYvpoll: request.poll });
    expect(appHits.filter((hit) => hit.startsWith('/cb')).at(-1)).toContain(`prYvapiEndpoint=${encodeURIComponent(String(polled.apiEndpoint))}`);
  });

  it('signs in on the auth page (fresh browser), and a matching access with returnURL goes back to the app after one click', async () => {
    const fresh = await suite.browser.newContext({ locale: 'fr-FR' });
    const other = watch(await fresh.newPage());
    const request = await startRequest({ requestingAppId: 'browser-app-3', returnURL: `${appBase}/again?`, languageCode: 'fr' });
    await other.goto(String(request.url));
    expect(await other.getAttribute('html', 'lang')).toBe('fr');
    expect(await other.getByRole('heading', { level: 1 }).textContent()).toBe('Connexion');
    await other.getByLabel("Nom d’utilisateur ou e-mail").fill('browser-user');
    await other.getByLabel('Mot de passe').fill('not the password');
    await other.getByRole('button', { name: 'Se connecter' }).click();
    await other.waitForSelector('#form-error');
    expect(await other.textContent('#form-error')).toBe("Nom d’utilisateur ou mot de passe incorrect.");
    await other.getByLabel('Mot de passe').fill(password);
    await other.getByRole('button', { name: 'Se connecter' }).click();
    await other.waitForSelector('h1:has-text("demande à nouveau")');
    expect(await other.getByRole('heading', { level: 1 }).textContent()).toBe("browser-app-3 demande à nouveau l’accès qu’elle a déjà");
    expect(await other.textContent('#returns-to')).toBe(`Après votre réponse, vous revenez sur ${new URL(appBase).host}.`);
    expect((await getJson(String(request.poll))).body.status).toBe('NEED_SIGNIN');
    await settledForDecision(other);
    await other.getByRole('button', { name: 'Accepter' }).click();
    await other.waitForURL((url) => url.href.startsWith(`${appBase}/again`));
    expect(new URL(other.url()).searchParams.get('prYvstatus')).toBe('ACCEPTED');
    await fresh.close();
  });

  it('the pages an app asked in French leave an English browser its own language: its link and theirs remember nothing, and the account pages they lead to speak English', async () => {
    const fresh = await suite.browser.newContext({ locale: 'en-US' });
    try {
      const other = watch(await fresh.newPage());
      const languageCookies = async () => (await fresh.cookies()).filter((cookie) => cookie.name.endsWith('pg_lang'));
      const request = await startRequest({ requestingAppId: 'browser-app-5', languageCode: 'fr' });
      // The app's own link names its language (?lang=fr): the page speaks it, and remembers nothing.
      expect(new URL(String(request.url)).searchParams.get('lang')).toBe('fr');
      await other.goto(String(request.url));
      expect(await other.getAttribute('html', 'lang')).toBe('fr');
      expect(await languageCookies()).toEqual([]);
      // Its links to the account pages are bare: followed, they speak the person's English.
      const forgot = other.locator('main a[href^="/account/reset"]');
      expect(await forgot.getAttribute('href')).not.toContain('lang=');
      await forgot.click();
      await other.waitForURL((url) => url.pathname === '/account/reset');
      expect(await other.getAttribute('html', 'lang')).toBe('en');
      expect(await languageCookies()).toEqual([]);
      // Signed in, the consent screen is the app's French again, reached by a bare address.
      await other.goto(String(request.url));
      await other.getByLabel("Nom d’utilisateur ou e-mail").fill('browser-user');
      await other.getByLabel('Mot de passe').fill(password);
      await other.getByRole('button', { name: 'Se connecter' }).click();
      await other.getByRole('button', { name: 'Accepter' }).waitFor();
      expect(new URL(other.url()).searchParams.has('lang')).toBe(false);
      expect(await other.getAttribute('html', 'lang')).toBe('fr');
      expect(await languageCookies()).toEqual([]);
      // The person's own choice with the switch is remembered, over the app's.
      await other.getByRole('link', { name: 'English' }).click();
      await other.getByRole('button', { name: 'Accept' }).waitFor();
      expect((await languageCookies()).map((cookie) => cookie.value)).toEqual(['en']);
    } finally {
      await fresh.close();
    }
  });

  it('resets a password through a real SMTP receiver', async () => {
    const fresh = await suite.browser.newContext();
    const other = watch(await fresh.newPage());
    await other.goto(`${suite.url}/account/reset`);
    await other.getByLabel('Username or e-mail').fill('browser@example.test');
    await other.getByRole('button', { name: 'Send the link' }).click();
    await other.waitForSelector('p[role="status"]');
    const deadline = Date.now() + 10_000;
    while (mails.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(mails).toHaveLength(1);
    const mail = mails[0]!.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
    expect(mail).toMatch(/^To: browser@example\.test/m);
    const link = /(http:\/\/\S+\/account\/reset\/confirm\?token=[A-Za-z0-9_-]+&lang=en)/.exec(mail)?.[1];
    expect(link).toBeDefined();
    await other.goto(link!);
    await other.getByLabel('New password').fill('a brand new password');
    await other.getByRole('button', { name: 'Change the password' }).click();
    await other.waitForSelector('text=Your password has been changed');
    // A reset disconnects the apps the old password let in: whoever knew it may have added one.
    expect(await other.textContent('main')).toContain('We also disconnected 2 apps.');
    await other.goto(link!);
    expect(await other.textContent('p[role="alert"]')).toContain('already used or expired');
    await other.goto(`${suite.url}/account/signin`);
    await other.getByLabel('Username or e-mail').fill('browser-user');
    await other.getByLabel('Password').fill('a brand new password');
    await other.getByRole('button', { name: 'Sign in' }).click();
    await other.waitForURL(`${suite.url}/account/accesses`);
    expect(await other.locator('ul.accesses > li').count()).toBe(0);
    await fresh.close();
  });

  it('renders an XSS attempt in the app description inert, keeping harmless markdown', async () => {
    const fresh = await suite.browser.newContext();
    const other = watch(await fresh.newPage());
    await other.goto(`${suite.url}/account/signin`);
    await other.getByLabel('Username or e-mail').fill('browser-user');
    await other.getByLabel('Password').fill('a brand new password');
    await other.getByRole('button', { name: 'Sign in' }).click();
    await other.waitForURL(`${suite.url}/account/accesses`);
    const attack = [
      '**Bold claim** and a [good link](https://example.org/about).',
      '# Verified by pairgate',
      '<script>window.__xss = 1</script>',
      '<img src=x onerror="window.__xss = 2">',
      '[click me](javascript:window.__xss=3)',
      '![pic](javascript:window.__xss=4)',
      '"><svg onload="window.__xss=5">',
    ].join('\n\n');
    const request = await startRequest({ requestingAppId: 'xss-app-id', clientData: { 'app-web-auth:description': { type: 'note/txt', content: attack } } });
    await other.goto(String(request.url));
    const description = other.locator('section.description');
    expect(await description.locator('strong').first().textContent()).toBe('Bold claim');
    // The app's words are said to be the app's, and its heading is no heading of the page.
    expect(await other.getByText('What the app says about itself (not checked by this server)').isVisible()).toBe(true);
    expect(await description.getAttribute('aria-labelledby')).toBe('description-from');
    expect(await description.locator('h1, h2, h3, h4, h5, h6').count()).toBe(0);
    expect(await other.locator('h1').count()).toBe(1);
    expect(await description.locator('a').count()).toBe(1);
    expect(await description.locator('a').getAttribute('href')).toBe('https://example.org/about');
    expect(await description.locator('a').getAttribute('rel')).toContain('noopener');
    expect(await description.locator('script, img, svg, [onerror], [onload]').count()).toBe(0);
    expect(await description.textContent()).toContain('<script>window.__xss = 1</script>'); // shown as text
    await settledForDecision(other);
    await other.getByRole('button', { name: 'Refuse' }).click();
    await other.waitForSelector('#outcome');
    expect(await other.evaluate('window.__xss')).toBeUndefined();
    await fresh.close();
  });

  it('revokes an access from the accesses page', async () => {
    // The password reset ended every session of the account: sign in again.
    await page.goto(`${suite.url}/account/accesses`);
    await page.waitForURL(/\/account\/signin/);
    await page.getByLabel('Username or e-mail').fill('browser-user');
    await page.getByLabel('Password').fill('a brand new password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${suite.url}/account/accesses`);
    // The reset disconnected every app: one accepted again to revoke.
    const request = await startRequest({ requestingAppId: 'revoked-app-id' });
    await page.goto(String(request.url));
    await settledForDecision(page);
    await page.getByRole('button', { name: 'Accept' }).click();
    await expect.poll(async () => (await getJson(String(request.poll))).body.status).toBe('ACCEPTED');
    await page.goto(`${suite.url}/account/accesses`);
    const before = await page.locator('ul.accesses > li').count();
    expect(before).toBe(1);
    await page.locator('ul.accesses > li').first().getByRole('button', { name: 'Revoke' }).click();
    await page.waitForSelector('text=The access was revoked.');
    expect(await page.locator('ul.accesses > li').count()).toBe(before - 1);
  });

  it('the app\'s popup closes itself once the user decides (no returnURL), and the app learns it by polling', async () => {
    const request = await startRequest({ requestingAppId: 'popup-app-id' });
    await page.goto(`${appBase}/opener`);
    const [popup] = await Promise.all([
      page.waitForEvent('popup'),
      page.evaluate(`window.open(${JSON.stringify(String(request.url))}, 'pryv-auth', 'width=420,height=640') && true`),
    ]);
    watch(popup);
    await settledForDecision(popup);
    await popup.getByRole('button', { name: 'Accept' }).click();
    await popup.waitForEvent('close', { timeout: 10_000 });
    expect(popup.isClosed()).toBe(true);
    expect((await getJson(String(request.poll))).body.status).toBe('ACCEPTED');
  });

  it('changes the password from the account menu, by keyboard-usable labelled fields', async () => {
    await page.goto(`${suite.url}/account/accesses`);
    await page.getByRole('link', { name: 'Password' }).click();
    await page.waitForURL(`${suite.url}/account/password`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Change your password');
    await expect.poll(() => page.evaluate('document.activeElement && document.activeElement.id')).toBe('current');
    await page.getByLabel('Current password').fill('not it');
    await page.getByLabel('New password').fill('the password after');
    await page.getByRole('button', { name: 'Change the password' }).click();
    expect(await page.textContent('p[role="alert"]')).toContain('The current password is wrong.');
    await page.getByLabel('Current password').fill('a brand new password');
    await page.getByLabel('New password').fill('the password after');
    await page.keyboard.press('Enter');
    await page.waitForSelector('text=Your password has been changed.');
    await page.goto(`${suite.url}/account/password`);
    await page.getByRole('link', { name: 'Delete your account' }).click();
    await page.waitForURL(/\/account\/delete/);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Delete your account');
    expect(await page.getByRole('button', { name: 'Delete my account' }).count()).toBe(1);
    await expect.poll(() => page.evaluate('document.activeElement && document.activeElement.id')).toBe('password');
    // Still signed in on this browser, with the new password.
    await page.getByRole('link', { name: 'App accesses' }).first().click();
    await page.waitForURL(/\/account\/accesses/);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('App accesses');
  });

  it('a returnURL on an IPv6 address (which CSP cannot name) still takes the person back to the app after Accept', async () => {
    // The app's own site on the IPv6 loopback: `checkReturnUrl` takes `http://[::1]:<port>/`.
    const hits: string[] = [];
    const v6 = createServer((request, response) => {
      hits.push(request.url ?? '');
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>app</title><p>back in the app</p>');
    });
    await new Promise<void>((resolve) => v6.listen(0, '::1', resolve));
    try {
      const base = `http://[::1]:${(v6.address() as AddressInfo).port}`;
      const request = await startRequest({ requestingAppId: 'browser-app-v6', returnURL: `${base}/cb` });
      await page.goto(String(request.url));
      await settledForDecision(page);
      await page.getByRole('button', { name: 'Accept' }).click();
      // Chromium ignored a `form-action` naming `http://[::1]:<port>` and blocked the redirect: the page stayed.
      await page.waitForURL((url) => url.href.startsWith(`${base}/cb`));
      expect(new URL(page.url()).searchParams.get('prYvstatus')).toBe('ACCEPTED');
      // The app's server got the return itself (Chromium may ask it for /favicon.ico after it).
      expect(hits.filter((hit) => hit.startsWith('/cb')).at(-1)).toContain('prYvstatus=ACCEPTED');
    } finally {
      await new Promise<void>((resolve) => v6.close(() => resolve()));
    }
  });

  it('pages cannot be framed and logged no CSP violation or script error', async () => {
    const response = await page.goto(`${suite.url}/account/accesses`);
    expect(response?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(response?.headers()['content-security-policy']).not.toContain('unsafe-inline');
    expect(consoleProblems).toEqual([]);
  });

  it('back or reload after answering says what the answer was, not "something went wrong, start again"', async () => {
    const accepted = await startRequest({ requestingAppId: 'browser-app-back' });
    await page.goto(String(accepted.url));
    await settledForDecision(page);
    await page.getByRole('button', { name: 'Accept' }).click();
    await page.waitForSelector('#outcome[data-outcome="ACCEPTED"]');
    const resent = await page.reload();
    expect(resent?.status()).toBe(409);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Done');
    expect(await page.getByRole('alert').textContent()).toBe('This request has already been answered: access was granted to browser-app-back, and browser-app-back has the answer. Go back to browser-app-back, or close this window.');
    await page.goBack();
    expect(page.url()).toContain('/access/auth?');
    expect(await page.getByRole('alert').textContent()).toContain('access was granted to browser-app-back');
    expect(await page.getByRole('button', { name: 'Accept' }).count()).toBe(0);

    const refused = await startRequest({ requestingAppId: 'browser-app-back', languageCode: 'fr' });
    await page.goto(String(refused.url));
    await settledForDecision(page);
    await page.getByRole('button', { name: 'Refuser' }).click();
    await page.waitForSelector('#outcome[data-outcome="REFUSED"]');
    await page.goBack();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Terminé');
    expect(await page.getByRole('alert').textContent()).toBe("Cette demande a déjà reçu une réponse\u00a0: l’accès a été refusé à browser-app-back, qui dispose de la réponse. Pour le lui accorder, recommencez depuis l’application.");
    expect((await getJson(String(refused.poll))).body).toMatchObject({ status: 'REFUSED' });
  });
});

describe.skipIf(Boolean(skip))(`access door popup when the access cannot be granted${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let opener: Server;
  let openerUrl: string;

  beforeAll(async () => {
    opener = createServer((_request, response) => response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>app</title><p>the app</p>'));
    await new Promise<void>((resolve) => opener.listen(0, '127.0.0.1', resolve));
    openerUrl = `http://127.0.0.1:${(opener.address() as AddressInfo).port}/opener`;
  });
  afterAll(() => new Promise<void>((resolve) => (opener ? opener.close(() => resolve()) : resolve())));
  const suite = useBrowserApp({ PAIRGATE_SCRYPT_COST: '10', PAIRGATE_ACCESS_MAX_PER_USER: '1' });

  it('stays open on ERROR, saying in the page\'s language what to do (it closed itself after 1.5 s, unread)', async () => {
    const page = await (await suite.browser.newContext({ locale: 'fr-FR' })).newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(`${suite.url}/account/register`);
    await page.fill('input[name=email]', 'full@example.test');
    await page.fill('input[name=username]', 'full-user');
    await page.fill('input[name=password]', 'full user password');
    await page.click('main button[type=submit]');
    await page.waitForURL(/\/account\//);
    // The account's one access, then a second request, which ends in ERROR.
    for (const requestingAppId of ['first-app-id', 'second-app-id']) {
      const request = (await postJson(`${suite.url}/access`, authRequest({ requestingAppId, languageCode: 'fr' }))).body;
      await page.goto(openerUrl);
      const [popup] = await Promise.all([page.waitForEvent('popup'), page.evaluate(`window.open(${JSON.stringify(String(request.url))}, 'pryv-auth', 'width=420,height=640') && true`)]);
      popup.setDefaultTimeout(15_000);
      await settledForDecision(popup);
      await popup.getByRole('button', { name: 'Accepter' }).click();
      if (requestingAppId === 'first-app-id') {
        await popup.waitForEvent('close');
        continue;
      }
      await popup.waitForSelector('#outcome[data-outcome="ERROR"]');
      // Three seconds: twice the delay after which a popup closes itself.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      expect(popup.isClosed()).toBe(false);
      expect(await popup.locator('#outcome').textContent()).toContain("Révoquez-en un que vous n’utilisez plus");
      await popup.getByRole('link', { name: 'Vos accès des applications' }).click();
      // Bare: the person's accesses speak their own language (here the browser's French too).
      await popup.waitForURL(`${suite.url}/account/accesses`);
      expect((await getJson(String(request.poll))).body).toMatchObject({ status: 'ERROR', id: 'too_many_accesses' });
    }
  }, 90_000);
});
