import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { dummyHash, hashPassword, verifyPassword } from '../../../src/doors/accounts/passwords.js';
import { accountsOf, safeNext } from '../../../src/doors/accounts/accounts.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { FormClient } from './form-client.js';

describe('password hashing', () => {
  it('is salted scrypt with its parameters, verified in constant time', async () => {
    const a = await hashPassword('secret password', 10);
    const b = await hashPassword('secret password', 10);
    expect(a).toMatch(/^scrypt\$10\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('secret password', a)).toBe(true);
    expect(await verifyPassword('secret passwore', a)).toBe(false);
    expect(await verifyPassword('secret password', 'plain-text')).toBe(false);
    expect(await verifyPassword('x', await dummyHash(10))).toBe(false);
  });

  it('sends sign-in back only to local paths', () => {
    expect(safeNext('/access/auth?key=abc')).toBe('/access/auth?key=abc');
    for (const evil of ['//evil.example/', 'https://evil.example/', '/\\evil.example', 'javascript:alert(1)', '']) expect(safeNext(evil)).toBe('/account/accesses');
  });
});

function outboxMails(dataDir: string): string[] {
  try {
    return readdirSync(join(dataDir, 'outbox')).sort().map((name) => readFileSync(join(dataDir, 'outbox', name), 'utf8'));
  } catch {
    return [];
  }
}

/** The reset link of a mail (quoted-printable soft breaks undone). */
function resetLink(mail: string): string {
  const unfolded = mail.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
  const match = /(http:\/\/[^\s]+\/account\/reset\/confirm\?token=[A-Za-z0-9_-]+&lang=\w+)/.exec(unfolded);
  if (!match) throw new Error(`no reset link in ${mail}`);
  return match[1]!;
}

describe('accounts behind https', () => {
  it('names the session and CSRF cookies __Host- and marks them Secure; a sibling\'s tossed cookies of the plain names count for nothing', async () => {
    const t = await createTestApp({ PAIRGATE_SCRYPT_COST: '10', PAIRGATE_PUBLIC_URL: 'https://pair.example' });
    const base = await t.listen();
    try {
      const client = new FormClient(base);
      const page = await client.get('/account/register');
      expect(page.headers.getSetCookie().find((line) => line.startsWith('__Host-pg_csrf='))).toMatch(/; Path=\/;.*Secure/i);
      const csrf = client.cookies.get('__Host-pg_csrf')!;
      const register = (username: string, cookie: string, field = csrf) => fetch(`${base}/account/register`, {
        method: 'POST', redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
        body: new URLSearchParams({ _csrf: field, username, email: `${username}@example.test`, password: 'long enough password' }),
      });
      const response = await register('secure-user', `__Host-pg_csrf=${csrf}`);
      expect(response.status).toBe(303);
      const session = response.headers.getSetCookie().find((line) => line.startsWith('__Host-pg_session='));
      expect(session).toMatch(/; Path=\/;.*Secure/i);
      expect(session).not.toMatch(/Domain=/i);
      const token = /^__Host-pg_session=([^;]+)/.exec(session!)![1]!;
      const signedIn = await fetch(`${base}/account/accesses`, { redirect: 'manual', headers: { cookie: `__Host-pg_session=${token}` } });
      expect(signedIn.status).toBe(200);

      // What a sibling subdomain can plant: the plain names. A tossed CSRF cookie does not pass the
      // form check, and a tossed session (the attacker's own) signs nobody in.
      const planted = 'A'.repeat(43);
      expect((await register('tossed-csrf', `pg_csrf=${planted}`, planted)).status).toBe(403);
      const tossed = await fetch(`${base}/account/accesses`, { redirect: 'manual', headers: { cookie: `pg_session=${token}` } });
      expect(tossed.status).toBe(303);
      expect(tossed.headers.get('location')).toMatch(/\/account\/signin/);
    } finally {
      await t.close();
    }
  });
});

describe('accounts over real sockets', () => {
  // Each simulated person comes from an address of their own (the server trusts the loopback proxy).
  let nextAddress = 1;
  const newClient = (ip = `10.0.${Math.floor(nextAddress / 250)}.${(nextAddress++ % 250) + 1}`) => new FormClient(base, { 'x-forwarded-for': ip });
  const clock = new ManualClock(Date.now());
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_SCRYPT_COST: '14', PAIRGATE_SIGNIN_FAILURES_PER_ACCOUNT: '3', PAIRGATE_SIGNIN_FAILURES_PER_DEVICE: '2', PAIRGATE_SIGNIN_FAILURES_PER_IP: '7', PAIRGATE_TRUST_PROXY: '127.0.0.1', PAIRGATE_RESET_TTL_SECONDS: '600' }, { clock });
    base = await t.listen();
  });
  afterAll(() => t.close());

  it('registers with clear errors for bad input and taken names; the session cookie is HttpOnly and SameSite', async () => {
    const client = newClient();
    await client.get('/account/register');
    const bad = await client.post('/account/register', { username: 'Bad Name!', email: 'x@example.test', password: 'long enough password' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('The username must be 5 to 60 characters');
    expect((await client.post('/account/register', { username: 'shorty', email: 'shorty@example.test', password: 'short' })).text).toContain('8 to 200 characters');
    expect((await client.post('/account/register', { username: 'access', email: 'a@example.test', password: 'long enough password' })).status).toBe(400);
    const ok = await fetch(`${base}/account/register`, {
      method: 'POST', redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `pg_csrf=${client.cookies.get('pg_csrf')}` },
      body: new URLSearchParams({ _csrf: client.lastCsrf, username: 'first-user', email: 'first@example.test', password: 'long enough password' }),
    });
    expect(ok.status).toBe(303);
    const cookie = ok.headers.getSetCookie().find((line) => line.startsWith('pg_session='))!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    const again = await client.post('/account/register', { username: 'first-user', email: 'other@example.test', password: 'long enough password' });
    expect(again.status).toBe(409);
    expect(again.text).toContain('already registered');
  });

  it('a sign-in replaces the session the browser had (no fixation)', async () => {
    const browser = newClient();
    await browser.register('fixation-user', 'the right password');
    const before = browser.cookies.get('pg_session');
    expect((await browser.signIn('fixation-user', 'the right password')).status).toBe(303);
    const after = browser.cookies.get('pg_session');
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
    const stale = await fetch(`${base}/api/v1/accesses`, { headers: { cookie: `pg_session=${before}` } });
    expect(stale.status).toBe(401);
  });

  it('refuses forms without the CSRF token', async () => {
    const client = newClient();
    await client.get('/account/signin');
    expect((await client.post('/account/signin', { login: 'first-user', password: 'long enough password', _csrf: '' })).status).toBe(403);
    expect((await client.post('/account/register', { username: 'csrf-victim', email: 'v@example.test', password: 'long enough password', _csrf: 'x'.repeat(43) })).status).toBe(403);
  });

  it('signs in by username or e-mail; unknown users and wrong passwords get the same answer in similar time', async () => {
    const owner = newClient();
    await owner.register('timing-user', 'the right password', 'Timing@Example.test');
    expect((await newClient().signIn('timing@example.test', 'the right password')).status).toBe(303);
    const wrong = await newClient().signIn('timing-user', 'a wrong password');
    const unknown = await newClient().signIn('nobody-here', 'a wrong password');
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const message = (text: string) => /role="alert" id="form-error">([^<]+)</.exec(text)?.[1];
    expect(message(wrong.text)).toBe('Wrong username or password.');
    expect(message(unknown.text)).toBe(message(wrong.text));

    // Timing: an unknown name must cost a scrypt like a known one. Measured as this process's CPU
    // time (the server runs in it; scrypt runs on libuv's threads, which count too), not wall time,
    // which a busy machine stretches at random; medians of alternating tries.
    const cpuMs = (): number => {
      const { user, system } = process.cpuUsage();
      return (user + system) / 1000;
    };
    const time = async (login: string) => {
      const client = newClient();
      await client.get('/account/signin');
      const started = cpuMs();
      await client.post('/account/signin', { login, password: 'another wrong one' });
      return cpuMs() - started;
    };
    // Several known accounts, so no single one reaches its failure limit (a 429 costs no hash).
    for (let k = 0; k < 3; k++) await newClient().register(`timing-k${k}`, 'the right password');
    const known: number[] = [];
    const missing: number[] = [];
    for (let i = 0; i < 5; i++) {
      known.push(await time(`timing-k${i % 3}`));
      missing.push(await time(`missing-user-${i}`));
    }
    const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const baseline = await (async () => { const s = cpuMs(); await hashPassword('x', 14); return cpuMs() - s; })();
    expect(median(missing)).toBeGreaterThan(baseline * 0.5); // a dummy scrypt was run
    expect(median(missing) / median(known)).toBeGreaterThan(0.5);
    expect(median(missing) / median(known)).toBeLessThan(2);
  });

  it('limits failed sign-ins per account, even with the right password afterwards, and per IP', async () => {
    const owner = newClient();
    await owner.register('limited-user', 'the right password');
    const attacker = newClient('192.0.2.66');
    for (let i = 0; i < 3; i++) expect((await attacker.signIn('limited-user', `guess ${i}`)).status).toBe(401);
    const locked = await attacker.signIn('limited-user', 'the right password');
    expect(locked.status).toBe(429);
    expect(locked.text).toContain('Too many failed sign-ins');
    // An unknown name is limited the same way: the 429 says nothing about existence.
    for (let i = 0; i < 3; i++) await attacker.signIn('ghost-user', `guess ${i}`);
    expect((await attacker.signIn('ghost-user', 'x')).status).toBe(429);
    // 6 failures from this IP so far (refusals do not count); the 7th spends the per-IP budget.
    expect((await attacker.signIn('first-user', 'yet another guess')).status).toBe(401);
    expect((await attacker.signIn('first-user', 'long enough password')).status).toBe(429);
    clock.advance(901_000);
    expect((await newClient().signIn('limited-user', 'the right password')).status).toBe(303);
  });

  it('counts failures by the username and by the e-mail against one budget per account', async () => {
    await newClient().register('two-names', 'the right password', 'two.names@example.test');
    // Each guess from a network of its own: only the account's budget (3) is at stake.
    expect((await newClient().signIn('two-names', 'guess 1')).status).toBe(401);
    expect((await newClient().signIn('Two.Names@Example.test', 'guess 2')).status).toBe(401);
    expect((await newClient().signIn('two.names@example.test', 'guess 3')).status).toBe(401);
    // Counted by the name typed, the username would have 2 failures left: it has none.
    expect((await newClient().signIn('two-names', 'the right password')).status).toBe(429);
    expect((await newClient().signIn('two.names@example.test', 'the right password')).status).toBe(429);
    // A name that names no account keeps a budget of its own, by the name typed.
    expect((await newClient().signIn('two-names-not', 'guess')).status).toBe(401);
  });

  it('resets a password by a mailed single-use, expiring link; the answer never says whether the account exists', async () => {
    const owner = newClient();
    await owner.register('forgetful', 'the old password', 'forgetful@example.test');
    const before = outboxMails(t.config.PAIRGATE_DATA_DIR).length;
    const asker = newClient();
    await asker.get('/account/reset');
    const known = await asker.post('/account/reset', { login: 'forgetful@example.test' });
    const unknown = await asker.post('/account/reset', { login: 'nobody@example.test' });
    expect(known.status).toBe(200);
    expect(unknown.status).toBe(200);
    const sentText = (text: string) => /role="status" class="ok">([^<]+)</.exec(text)?.[1];
    expect(sentText(unknown.text)).toBe(sentText(known.text));
    await accountsOf({ server: t.app }).parts.afterAnswer.idle();
    const mails = outboxMails(t.config.PAIRGATE_DATA_DIR);
    expect(mails.length).toBe(before + 1);
    const mail = mails.at(-1)!;
    expect(mail).toContain('To: forgetful@example.test');
    const link = resetLink(mail);
    const token = new URL(link).searchParams.get('token')!;
    expect(t.logs.join('')).toContain('mail written to the outbox');
    expect(t.logs.join('')).not.toContain(token);

    const form = await asker.get(link.replace(base, ''));
    expect(form.status).toBe(200);
    // A password too short: the error is tied to the one field, before its hint.
    const short = await asker.post('/account/reset/confirm', { token, password: 'short' });
    expect(short.status).toBe(400);
    expect(short.text).toMatch(/<input type="password" id="password" [^>]*aria-describedby="form-error password-hint" required autofocus aria-invalid="true">/);
    const done = await asker.post('/account/reset/confirm', { token, password: 'the new password' });
    expect(done.status).toBe(200);
    expect(done.text).toContain('Your password has been changed');
    // A reset disconnects the account's devices and apps (test/doors/accounts/password-disconnects.test.ts): here there were none.
    expect(done.text).toContain('No device or app was connected to your account.');
    expect((await asker.post('/account/reset/confirm', { token, password: 'a third password' })).status).toBe(404); // single use
    expect((await newClient().signIn('forgetful', 'the old password')).status).toBe(401);
    expect((await newClient().signIn('forgetful', 'the new password')).status).toBe(303);
    // The old session ended with the reset.
    expect((await owner.get('/api/v1/accesses')).status).toBe(401);

    // Expiry: a link older than its lifetime is refused.
    await asker.get('/account/reset');
    await asker.post('/account/reset', { login: 'forgetful' });
    await accountsOf({ server: t.app }).parts.afterAnswer.idle();
    const late = resetLink(outboxMails(t.config.PAIRGATE_DATA_DIR).at(-1)!);
    clock.advance(601_000);
    expect((await asker.get(late.replace(base, ''))).status).toBe(404);
    expect((await asker.post('/account/reset/confirm', { token: new URL(late).searchParams.get('token')!, password: 'too late password' })).status).toBe(404);
  });

  it('a page asked for in French by someone signed out sends them to a French sign-in page, and back to it in French', async () => {
    const owner = newClient();
    await owner.register('french-visitor', 'correct horse battery');
    for (const path of ['/account/devices', '/account/accesses', '/account/password', '/account/delete']) {
      const visitor = newClient();
      const sent = await visitor.get(`${path}?lang=fr`);
      expect(sent.status, path).toBe(303);
      expect(sent.location, path).toBe(`/account/signin?next=${encodeURIComponent(`${path}?lang=fr`)}&lang=fr`);
      const signInPage = await visitor.get(sent.location!);
      expect(signInPage.text, path).toContain('<html lang="fr">');
      const next = /name="next" value="([^"]+)"/.exec(signInPage.text)![1]!.replace(/&amp;/g, '&');
      const signedIn = await visitor.post('/account/signin', { login: 'french-visitor', password: 'correct horse battery', next, lang: 'fr' });
      expect(signedIn.location, path).toBe(`${path}?lang=fr`);
      expect((await visitor.get(signedIn.location!)).text, path).toContain('<html lang="fr">');
    }
    // Without ?lang= the address stays as it was (the sign-in page then follows Accept-Language).
    expect((await newClient().get('/account/devices')).location).toBe('/account/signin?next=%2Faccount%2Fdevices');
  });

  it('changes the password when signed in: the current one is checked and budgeted, other sessions end', async () => {
    const browser = newClient();
    const otherDevice = newClient();
    await browser.register('changer-user', 'the old password');
    expect((await otherDevice.signIn('changer-user', 'the old password')).status).toBe(303);
    // Signed out, the page sends the person to sign in first.
    const anonymous = await newClient().get('/account/password');
    expect(anonymous.status).toBe(303);
    expect(anonymous.location).toBe('/account/signin?next=%2Faccount%2Fpassword');

    const page = await browser.get('/account/password');
    expect(page.status).toBe(200);
    expect(page.text).toContain('autocomplete="current-password"');
    const wrong = await browser.post('/account/password', { current: 'not the password', password: 'the new password' });
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain('The current password is wrong.');
    const tooShort = await browser.post('/account/password', { current: 'the old password', password: 'short' });
    expect(tooShort.status).toBe(400);
    expect(tooShort.text).toContain('8 to 200 characters');
    expect((await browser.post('/account/password', { current: 'the old password', password: 'the new password', _csrf: '' })).status).toBe(403);

    const sessionBefore = browser.cookies.get('pg_session');
    const done = await browser.post('/account/password', { current: 'the old password', password: 'the new password' });
    expect(done.status).toBe(200);
    expect(done.text).toContain('Your password has been changed.');
    // This browser stays signed in on a fresh session; the other device and the old session are out.
    expect(browser.cookies.get('pg_session')).not.toBe(sessionBefore);
    expect((await browser.get('/api/v1/accesses')).status).toBe(200);
    expect((await otherDevice.get('/api/v1/accesses')).status).toBe(401);
    expect((await fetch(`${base}/api/v1/accesses`, { headers: { cookie: `pg_session=${sessionBefore}` } })).status).toBe(401);
    expect((await newClient().signIn('changer-user', 'the old password')).status).toBe(401);
    expect((await newClient().signIn('changer-user', 'the new password')).status).toBe(303);
  });

  it('wrong current passwords count against the sign-in budget of the account', async () => {
    const browser = newClient();
    await browser.register('guessed-user', 'the real password');
    await browser.get('/account/password');
    // This browser's device cookie (from the registration) allows 2 failures of its own
    // (PAIRGATE_SIGNIN_FAILURES_PER_DEVICE), then the account's 3 count (PAIRGATE_SIGNIN_FAILURES_PER_ACCOUNT):
    // a stolen session cannot guess on.
    for (let i = 0; i < 5; i++) expect((await browser.post('/account/password', { current: `guess ${i}`, password: 'a new password' })).status).toBe(401);
    const limited = await browser.post('/account/password', { current: 'the real password', password: 'a new password' });
    expect(limited.status).toBe(429);
    expect(limited.text).toContain('Too many attempts');
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    // The same budget as a sign-in, whichever name is typed there.
    expect((await newClient().signIn('guessed-user@example.test', 'the real password')).status).toBe(429);
  });

  it('concurrent uses of one reset link: exactly one succeeds', async () => {
    const owner = newClient();
    await owner.register('racer-user', 'the old password', 'racer@example.test');
    const asker = newClient();
    await asker.get('/account/reset');
    await asker.post('/account/reset', { login: 'racer-user' });
    await accountsOf({ server: t.app }).parts.afterAnswer.idle();
    const token = new URL(resetLink(outboxMails(t.config.PAIRGATE_DATA_DIR).at(-1)!)).searchParams.get('token')!;
    const statuses = await Promise.all(Array.from({ length: 8 }, (_, i) => asker.post('/account/reset/confirm', { token, password: `racing password ${i}` }).then((r) => r.status)));
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 404)).toHaveLength(7);
  });

  it('pages speak French from ?lang= or Accept-Language', async () => {
    const fr = await new FormClient(base, { 'accept-language': 'fr-CH, en;q=0.5' }).get('/account/signin');
    expect(fr.text).toContain('<html lang="fr">');
    expect(fr.text).toContain('Se connecter');
    const en = await new FormClient(base, { 'accept-language': 'fr' }).get('/account/signin?lang=en');
    expect(en.text).toContain('Sign in');
    expect(fr.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  });
});
