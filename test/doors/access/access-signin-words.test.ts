import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { authRequest, FormClient, postJson } from './form-client.js';

/** The alert of a page. */
const alertOf = (html: string): string | undefined => /role="alert"[^>]*>([^<]+)</.exec(html)?.[1];

describe('the auth page\'s sign-in form past its budget', () => {
  let t: TestApp;
  let base: string;
  let nextAddress = 1;
  const newClient = () => new FormClient(base, { 'x-forwarded-for': `10.9.0.${nextAddress++}` });
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_SCRYPT_COST: '10', PAIRGATE_TRUST_PROXY: '127.0.0.1', PAIRGATE_SIGNIN_FAILURES_PER_ACCOUNT: '2', PAIRGATE_SIGNIN_WINDOW_SECONDS: '900' });
    base = await t.listen();
    await newClient().register('auth-locked', 'the right password');
  });
  afterAll(() => t.close());

  /** Signs in on the auth page of a new request of the app, in `lang`. */
  const signInOnAuthPage = async (person: FormClient, password: string, lang: string) => {
    const created = await postJson(`${base}/access`, authRequest({ requestingAppId: 'words-app', languageCode: lang }));
    const key = String(created.body.key);
    await person.get(`/access/auth?key=${key}`);
    return person.post('/access/auth/signin', { key, login: 'auth-locked', password });
  };

  it('says when to try again and points to the password reset, in the request\'s language (it said "try again later")', async () => {
    const person = newClient();
    for (let i = 0; i < 2; i++) expect((await signInOnAuthPage(person, `guess ${i}`, 'en')).status).toBe(401);
    const limited = await signInOnAuthPage(person, 'the right password', 'en');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(alertOf(limited.text)).toBe('Too many failed sign-ins with this name. Try again in 15 minutes, or choose a new password with “Forgot your password?” below.');
    expect(limited.text).toContain('href="/account/reset?next=');
    const french = await signInOnAuthPage(newClient(), 'the right password', 'fr');
    expect(alertOf(french.text)).toBe('Trop de connexions échouées avec ce nom. Réessayez dans 15 minutes, ou choisissez un nouveau mot de passe avec «\u00a0Mot de passe oublié\u00a0?\u00a0» ci-dessous.');
  });
});
