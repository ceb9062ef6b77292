import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { createTestApp } from '../../helpers/app.js';
import { authRequest, FormClient, postJson } from '../access/form-client.js';
import { useDeviceCookieApp } from './device-cookie-helpers.js';

/** The alert of a page. */
const alertOf = (html: string): string | undefined => /role="alert"[^>]*>([^<]+)</.exec(html)?.[1];

/** The words of a refusal for a spent account budget, the same with or without a device cookie. */
const ACCOUNT_SPENT = 'Too many failed sign-ins with this name. Try again in 15 minutes, or choose a new password with “Forgot your password?” below.';

/**
 * Targeted lock-out (OWASP's device cookies): wrong passwords sent from any networks spend an
 * account's failure budget and used to keep its owner out for as long as they were sent; a browser
 * that signed in to the account before now holds a device cookie, counted on a budget of its own.
 */
describe('device cookies against a targeted lock-out', () => {
  const clock = new ManualClock(Date.now());
  const app = useDeviceCookieApp({
    Client: FormClient,
    network: '10.46',
    env: { PAIRGATE_SIGNIN_DEVICE_DAYS: '30' },
    clock,
    accounts: ['owner', 'owner-two', 'owner-three', 'owner-four', 'owner-five', 'owner-six', 'someone-else'],
  });
  const { newClient } = app;
  /** Spends `login`'s account budget; the refusal says so, in the words it has for everyone. */
  const lockOut = async (login: string) => {
    expect(alertOf((await app.lockOut(login)).text)).toBe(ACCOUNT_SPENT);
  };
  /** Every device cookie the server gave, to look for in its log. */
  const given = new Set<string>();
  /** A browser that signed in to `login` once: it holds the account's device cookie. */
  const trustedBrowser = async (login: string, ip?: string) => {
    const browser = await app.signedInBrowser(login, 'the right password', ip);
    given.add(browser.cookies.get('pg_device')!);
    return browser;
  };

  it('gives a signed-in browser an HttpOnly, SameSite=Strict cookie for the paths that check a password only, long-lived', async () => {
    const browser = newClient();
    await browser.get('/account/signin');
    const signedIn = await browser.post('/account/signin', { login: 'owner', password: 'the right password' });
    expect(signedIn.status).toBe(303);
    const lines = signedIn.headers.getSetCookie().filter((line) => line.startsWith('pg_device='));
    // The sign-ins, and the signed-in forms that check the current password again.
    expect(lines.map((line) => /Path=([^;]+)/i.exec(line)?.[1]).sort()).toEqual(['/access/auth/signin', '/account/delete', '/account/password', '/account/signin', '/device/signin']);
    for (const line of lines) {
      expect(line).toMatch(/; HttpOnly/i);
      expect(line).toMatch(/; SameSite=Strict/i);
      expect(line).toMatch(new RegExp(`; Max-Age=${30 * 86400}(;|$)`, 'i'));
      // Over plain http, not Secure (the browser would drop it).
      expect(line).not.toMatch(/; Secure/i);
    }
    // One value for every path; it names no account in clear.
    expect(new Set(lines.map((line) => line.split(';')[0])).size).toBe(1);
    expect(lines[0]).not.toContain('owner');
  });

  it('lets the owner sign in from a browser that signed in before while the account is locked for everyone else', async () => {
    const laptop = await trustedBrowser('owner');
    await lockOut('owner');
    expect((await laptop.signIn('owner', 'the right password')).status).toBe(303);
    // By the e-mail too: the cookie is the account's, whichever name is typed.
    expect((await laptop.signIn('owner@example.test', 'the right password')).status).toBe(303);
    // Everyone else is still refused.
    expect(alertOf((await newClient().signIn('owner', 'the right password')).text)).toBe(ACCOUNT_SPENT);
  });

  it('works on the auth page\'s sign-in form too', async () => {
    const phone = await trustedBrowser('owner-six');
    await lockOut('owner-six');
    const created = await postJson(`${app.base}/access`, authRequest({ requestingAppId: 'device-cookie-app' }));
    const key = String(created.body.key);
    await phone.get(`/access/auth?key=${key}`);
    expect((await phone.post('/access/auth/signin', { key, login: 'owner-six', password: 'the right password' })).status).toBe(303);
  });

  it('gives no way past the lock to a forged or altered cookie, nor to another account\'s', async () => {
    const laptop = await trustedBrowser('owner-two');
    const good = laptop.cookies.get('pg_device')!;
    const mine = (await trustedBrowser('someone-else')).cookies.get('pg_device')!;
    await lockOut('owner-two');
    const [issued, nonce, mac] = good.split('.') as [string, string, string];
    const flip = (text: string) => `${text.slice(0, 5)}${text[5] === 'A' ? 'B' : 'A'}${text.slice(6)}`;
    const tries = {
      'another account\'s': mine,
      'an altered MAC': `${issued}.${nonce}.${flip(mac)}`,
      'an altered nonce': `${issued}.${flip(nonce)}.${mac}`,
      'an altered issue time': `${(parseInt(issued, 36) + 1).toString(36)}.${nonce}.${mac}`,
      'a made-up one': `${issued}.${'A'.repeat(22)}.${'A'.repeat(43)}`,
      'a malformed one': 'owner-two',
    };
    for (const [what, cookie] of Object.entries(tries)) {
      const attacker = newClient();
      attacker.cookies.set('pg_device', cookie);
      const refused = await attacker.signIn('owner-two', 'the right password');
      expect(refused.status, what).toBe(429);
      expect(alertOf(refused.text), what).toBe(ACCOUNT_SPENT);
    }
    // The good one still works, even sent after a planted one (a sibling subdomain may plant one).
    const both = await fetch(`${app.base}/account/signin`, {
      method: 'POST', redirect: 'manual',
      headers: { 'x-forwarded-for': laptop.headers['x-forwarded-for']!, 'content-type': 'application/x-www-form-urlencoded', cookie: `pg_csrf=${laptop.cookies.get('pg_csrf')}; pg_device=${mine}; pg_device=${good}` },
      body: new URLSearchParams({ _csrf: laptop.lastCsrf, login: 'owner-two', password: 'the right password' }),
    });
    expect(both.status).toBe(303);
  });

  it('limits the device\'s own failures; they do not spend the account\'s budget; once spent the device counts as any other', async () => {
    const laptop = await trustedBrowser('owner-three');
    for (let i = 0; i < 2; i++) expect((await laptop.signIn('owner-three', `my typo ${i}`)).status).toBe(401);
    // The device's budget (2) is spent, the account's untouched: anyone else still signs in.
    expect((await newClient().signIn('owner-three', 'the right password')).status).toBe(303);
    // Spent, the device is untrusted for the window: counted on, and refused by, the account's budget.
    await lockOut('owner-three');
    const refused = await laptop.signIn('owner-three', 'the right password');
    expect(refused.status).toBe(429);
    expect(alertOf(refused.text)).toBe(ACCOUNT_SPENT);
  });

  it('keeps every network\'s budget, trusted device or not', async () => {
    const laptop = await trustedBrowser('owner-four', '192.0.2.46');
    // The network's budget (4) spent from the same address, on names that are not the owner's.
    for (let i = 0; i < 4; i++) expect((await newClient('192.0.2.46').signIn(`nobody-${i}`, 'a guess')).status).toBe(401);
    const refused = await laptop.signIn('owner-four', 'the right password');
    expect(refused.status).toBe(429);
    expect(alertOf(refused.text)).toBe('Too many failed sign-ins. Try again in 15 minutes.');
  });

  it('trusts a cookie for its lifetime only', async () => {
    const laptop = await trustedBrowser('owner-five');
    clock.advance(30 * 86_400_000);
    await lockOut('owner-five');
    expect((await laptop.signIn('owner-five', 'the right password')).status).toBe(429);
  });

  it('never writes a device cookie to the log', () => {
    expect(given.size).toBeGreaterThan(3);
    const log = app.t.logs.join('');
    for (const cookie of given) {
      expect(log).not.toContain(cookie);
      expect(log).not.toContain(cookie.split('.')[2]);
    }
  });
});

describe('device cookies behind https', () => {
  it('are __Secure- cookies, marked Secure', async () => {
    const t = await createTestApp({ PAIRGATE_SCRYPT_COST: '10', PAIRGATE_PUBLIC_URL: 'https://pair.example' });
    const base = await t.listen();
    try {
      const client = new FormClient(base);
      await client.get('/account/register');
      const registered = await fetch(`${base}/account/register`, {
        method: 'POST', redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `__Host-pg_csrf=${client.cookies.get('__Host-pg_csrf')}` },
        body: new URLSearchParams({ _csrf: client.lastCsrf, username: 'secure-device', email: 'secure-device@example.test', password: 'long enough password' }),
      });
      expect(registered.status).toBe(303);
      const lines = registered.headers.getSetCookie().filter((line) => line.startsWith('__Secure-pg_device='));
      expect(lines).toHaveLength(5);
      for (const line of lines) expect(line).toMatch(/; Secure/i);
    } finally {
      await t.close();
    }
  });
});
