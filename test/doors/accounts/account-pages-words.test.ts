import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { FormClient } from '../access/form-client.js';

/** The alert of a page. */
const alertOf = (html: string): string | undefined => /role="alert"[^>]*>([^<]+)</.exec(html)?.[1];

describe('account pages: the language a person chose, and when to try again', () => {
  let t: TestApp;
  let base: string;
  let nextAddress = 1;
  // An English browser (Accept-Language) whose person switched the pages to French.
  const newClient = () => new FormClient(base, { 'x-forwarded-for': `10.8.0.${nextAddress++}`, 'accept-language': 'en-GB,en;q=0.9' });
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_SCRYPT_COST: '10', PAIRGATE_TRUST_PROXY: '127.0.0.1', PAIRGATE_SIGNIN_FAILURES_PER_ACCOUNT: '2', PAIRGATE_SIGNIN_FAILURES_PER_DEVICE: '2', PAIRGATE_SIGNIN_WINDOW_SECONDS: '900' });
    base = await t.listen();
  });
  afterAll(() => t.close());

  it('registering, signing in and signing out in French lead to French pages, though the browser asks for English', async () => {
    const person = newClient();
    await person.get('/account/register?lang=fr');
    const registered = await person.post('/account/register', { username: 'french-choice', email: 'fc@example.test', password: 'long enough password', lang: 'fr' });
    // Bare: the cookie the register page's ?lang=fr set carries French to the next page.
    expect(registered.location).toBe('/account/accesses');
    const accesses = await person.get(registered.location!);
    expect(accesses.text).toContain('<html lang="fr">');
    // The sign-out button in the navigation carries the page's language.
    expect(accesses.text).toMatch(/action="\/account\/signout"[^]*?name="lang" value="fr"/);
    const signedOut = await person.post('/account/signout', { lang: 'fr' });
    expect(signedOut.location).toBe('/account/signin');
    expect((await person.get(signedOut.location!)).text).toContain('<html lang="fr">');
    const signedIn = await person.post('/account/signin', { login: 'french-choice', password: 'long enough password', lang: 'fr' });
    expect(signedIn.location).toBe('/account/accesses');
    // A browser that kept no cookie: the form's French travels in the address, as the next page
    // cannot know it; in the browser's own language the address stays bare.
    person.cookies.delete('pg_lang');
    expect((await person.post('/account/signin', { login: 'french-choice', password: 'long enough password', lang: 'fr' })).location).toBe('/account/accesses?lang=fr');
    expect((await person.post('/account/signin', { login: 'french-choice', password: 'long enough password', lang: 'en' })).location).toBe('/account/accesses');
  });

  it('a spent sign-in budget says when to try again, in the page\'s language', async () => {
    await newClient().register('locked-out', 'the right password');
    const person = newClient();
    await person.get('/account/signin?lang=fr');
    for (let i = 0; i < 2; i++) expect((await person.post('/account/signin', { login: 'locked-out', password: `guess ${i}`, lang: 'fr' })).status).toBe(401);
    const limited = await person.post('/account/signin', { login: 'locked-out', password: 'the right password', lang: 'fr' });
    expect(limited.status).toBe(429);
    // The name's budget is spent: a reset lifts it, so the page points there.
    expect(alertOf(limited.text)).toBe('Trop de connexions échouées avec ce nom. Réessayez dans 15 minutes, ou choisissez un nouveau mot de passe avec «\u00a0Mot de passe oublié\u00a0?\u00a0» ci-dessous.');
    const english = await newClient().signIn('locked-out', 'the right password');
    expect(alertOf(english.text)).toBe('Too many failed sign-ins with this name. Try again in 15 minutes, or choose a new password with “Forgot your password?” below.');
    // A name that names no account is told the same, so the words say nothing of existence.
    const ghost = newClient();
    for (let i = 0; i < 2; i++) await ghost.signIn('no-such-person', `guess ${i}`);
    expect(alertOf((await ghost.signIn('no-such-person', 'x')).text)).toBe(alertOf(english.text));
  });

  it('a spent budget on the password form says when to try again', async () => {
    const person = newClient();
    await person.register('pw-guessed', 'the real password');
    await person.get('/account/password');
    // Two on this browser's own budget (its device cookie, from the registration), two more on the account's.
    for (let i = 0; i < 4; i++) expect((await person.post('/account/password', { current: `guess ${i}`, password: 'a new password' })).status).toBe(401);
    const limited = await person.post('/account/password', { current: 'the real password', password: 'a new password' });
    expect(limited.status).toBe(429);
    expect(alertOf(limited.text)).toBe('Too many attempts. Try again in 15 minutes.');
  });
});

describe('a session ended on another device', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_SCRYPT_COST: '10' });
    base = await t.listen();
  });
  afterAll(() => t.close());

  it('the other browser is told why it must sign in again, once; a plain visit or a sign-out says nothing', async () => {
    const laptop = new FormClient(base);
    const phone = new FormClient(base);
    await laptop.register('two-browsers', 'the old password');
    expect((await phone.signIn('two-browsers', 'the old password')).status).toBe(303);
    const notice = (html: string) => /<p role="status">([^<]+)</.exec(html)?.[1];

    await laptop.get('/account/password');
    expect((await laptop.post('/account/password', { current: 'the old password', password: 'the new password' })).status).toBe(200);
    const sent = await phone.get('/account/accesses');
    expect(sent.location).toBe('/account/signin?next=%2Faccount%2Faccesses');
    const signIn = await phone.get(sent.location!);
    expect(notice(signIn.text)).toBe('Your session has ended: it went unused for a while, reached its time limit, or the password of your account was changed. Sign in again.');
    // Its dead cookie is dropped: said once.
    expect(phone.cookies.has('pg_session')).toBe(false);
    expect(notice((await phone.get('/account/signin')).text)).toBeUndefined();

    expect(notice((await new FormClient(base).get('/account/signin?lang=fr')).text)).toBeUndefined();
    await laptop.post('/account/signout', {});
    expect(notice((await laptop.get('/account/signin')).text)).toBeUndefined();
  });
});

describe('a server closed to registration', () => {
  it('offers no "Create an account" link that leads only to a refusal', async () => {
    const closed = await createTestApp({ PAIRGATE_SCRYPT_COST: '10', PAIRGATE_ACCOUNTS_REGISTRATION: 'false' });
    const open = await createTestApp({ PAIRGATE_SCRYPT_COST: '10' });
    try {
      const closedPage = await closed.app.inject('/account/signin?next=/account/devices');
      expect(closedPage.body).toContain('Forgot your password?');
      expect(closedPage.body).not.toContain('/account/register');
      expect((await closed.app.inject('/account/register')).body).toContain('Registration is closed on this server.');
      expect((await open.app.inject('/account/signin')).body).toContain('href="/account/register"');
    } finally {
      await closed.close();
      await open.close();
    }
  });
});

describe('sign-out from a page whose form has expired', () => {
  it('says why nothing happened and leads back to a page with a working button', async () => {
    const t = await createTestApp({ PAIRGATE_SCRYPT_COST: '10' });
    try {
      const person = new FormClient(await t.listen());
      await person.register('stale-signout');
      const refused = await person.post('/account/signout', { _csrf: 'x'.repeat(43), lang: 'fr' });
      expect(refused.status).toBe(403);
      expect(alertOf(refused.text)).toBe('Ce formulaire a expiré ou ne vient pas de ce site. Rechargez la page et réessayez.');
      expect(refused.text).toContain('href="/account/accesses?lang=fr"');
      // Still signed in: nothing was done.
      expect((await person.get('/account/accesses')).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});
