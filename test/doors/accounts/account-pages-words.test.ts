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
    t = await createTestApp({ PAIRGATE_SCRYPT_COST: '10', PAIRGATE_TRUST_PROXY: '127.0.0.1', PAIRGATE_SIGNIN_FAILURES_PER_ACCOUNT: '2', PAIRGATE_SIGNIN_WINDOW_SECONDS: '900' });
    base = await t.listen();
  });
  afterAll(() => t.close());

  it('registering, signing in and signing out in French lead to French pages, though the browser asks for English', async () => {
    const person = newClient();
    await person.get('/account/register?lang=fr');
    const registered = await person.post('/account/register', { username: 'french-choice', email: 'fc@example.test', password: 'long enough password', lang: 'fr' });
    expect(registered.location).toBe('/account/accesses?lang=fr');
    const accesses = await person.get(registered.location!);
    expect(accesses.text).toContain('<html lang="fr">');
    // The sign-out button in the navigation carries the page's language.
    expect(accesses.text).toMatch(/action="\/account\/signout"[^]*?name="lang" value="fr"/);
    const signedOut = await person.post('/account/signout', { lang: 'fr' });
    expect(signedOut.location).toBe('/account/signin?lang=fr');
    await person.get(signedOut.location!);
    const signedIn = await person.post('/account/signin', { login: 'french-choice', password: 'long enough password', lang: 'fr' });
    expect(signedIn.location).toBe('/account/accesses?lang=fr');
    // In the browser's own language the address stays bare.
    expect((await person.post('/account/signin', { login: 'french-choice', password: 'long enough password', lang: 'en' })).location).toBe('/account/accesses');
  });

  it('a spent sign-in budget says when to try again, in the page\'s language', async () => {
    await newClient().register('locked-out', 'the right password');
    const person = newClient();
    await person.get('/account/signin?lang=fr');
    for (let i = 0; i < 2; i++) expect((await person.post('/account/signin', { login: 'locked-out', password: `guess ${i}`, lang: 'fr' })).status).toBe(401);
    const limited = await person.post('/account/signin', { login: 'locked-out', password: 'the right password', lang: 'fr' });
    expect(limited.status).toBe(429);
    expect(alertOf(limited.text)).toBe('Trop de connexions échouées. Réessayez dans 15 minutes.');
    const english = await newClient().signIn('locked-out', 'the right password');
    expect(alertOf(english.text)).toBe('Too many failed sign-ins. Try again in 15 minutes.');
  });

  it('a spent budget on the password form says when to try again', async () => {
    const person = newClient();
    await person.register('pw-guessed', 'the real password');
    await person.get('/account/password');
    for (let i = 0; i < 2; i++) expect((await person.post('/account/password', { current: `guess ${i}`, password: 'a new password' })).status).toBe(401);
    const limited = await person.post('/account/password', { current: 'the real password', password: 'a new password' });
    expect(limited.status).toBe(429);
    expect(alertOf(limited.text)).toBe('Too many attempts. Try again in 15 minutes.');
  });
});
