import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { authRequest, FormClient, postJson } from './form-client.js';

/** The first link of `html` whose address starts with `start`, unescaped. */
function href(html: string, start: string): string {
  const found = new RegExp(`href="(${start.replace(/[?/]/g, '\\$&')}[^"]*)"`).exec(html)?.[1];
  if (!found) throw new Error(`no link to ${start}`);
  return found.replace(/&amp;/g, '&');
}

/** The page's intro line (the muted paragraph under its heading). */
const introOf = (html: string): string | undefined => /<p class="muted">([^<]*)<\/p>/.exec(html)?.[1];

describe('the register and reset pages reached from an app\'s auth page', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_SCRYPT_COST: '10' });
    base = await t.listen();
  });
  afterAll(() => t.close());

  /** A new request of `app` in `lang`, its auth page opened by a person with no account (whose browser sends `headers`). */
  const openAuthPage = async (app: string, lang: string, headers: Record<string, string> = {}) => {
    const created = await postJson(`${base}/access`, authRequest({ requestingAppId: app, languageCode: lang }));
    const person = new FormClient(base, headers);
    const page = await person.get(`/access/auth?key=${String(created.body.key)}`);
    return { person, page, key: String(created.body.key) };
  };

  it('say which app asks, in the page\'s language, from the stored request', async () => {
    const { person, page } = await openAuthPage('intro-app', 'en');
    const register = await person.get(href(page.text, '/account/register?'));
    expect(introOf(register.text)).toBe('intro-app asks for access to your account. Once your account is created, you carry on where you left off.');
    const reset = await person.get(href(page.text, '/account/reset?'));
    expect(introOf(reset.text)).toBe('intro-app asks for access to your account. After choosing a new password, you sign in and carry on where you left off.');

    // The account pages speak the person's language, not the one the app asked its page in.
    const french = await openAuthPage('appli-fr', 'fr', { 'accept-language': 'fr' });
    const registerFr = await french.person.get(href(french.page.text, '/account/register?'));
    expect(introOf(registerFr.text)).toBe('appli-fr demande un accès à votre compte. Une fois votre compte créé, vous reprenez là où vous en étiez.');
    const english = await openAuthPage('appli-fr', 'fr', { 'accept-language': 'en' });
    expect(english.page.text).toContain('<html lang="fr">');
    const registerEn = await english.person.get(href(english.page.text, '/account/register?'));
    expect(introOf(registerEn.text)).toBe('appli-fr asks for access to your account. Once your account is created, you carry on where you left off.');
  });

  it('signing in on the auth page comes back to it without ?lang= when the app\'s language is the page\'s, and the app\'s link remembers nothing', async () => {
    const person = new FormClient(base, { 'accept-language': 'en' });
    await person.register('lang-returner');
    await person.post('/account/signout', {});
    const created = await postJson(`${base}/access`, authRequest({ requestingAppId: 'lang-app', languageCode: 'fr' }));
    const key = String(created.body.key);
    // The app's own link names its language: the page speaks it, without making it the person's.
    const opened = await person.get(new URL(String(created.body.url)).pathname + new URL(String(created.body.url)).search);
    expect(opened.text).toContain('<html lang="fr">');
    expect(opened.headers.get('set-cookie') ?? '').not.toContain('pg_lang');
    expect(opened.text).toContain(`name="next" value="/access/auth?key=${key}"`);
    const back = await person.post('/access/auth/signin', { key, login: 'lang-returner', password: 'correct horse battery', lang: 'fr' });
    expect(back.location).toBe(`/access/auth?key=${key}`);
    const consent = await person.get(back.location!);
    expect(consent.text).toContain('<html lang="fr">');
    expect(consent.headers.get('set-cookie') ?? '').not.toContain('pg_lang');
    // The person's own choice with the switch, English, is remembered over the app's French...
    await person.post('/account/signout', {});
    await person.get(`/access/auth?key=${key}&lang=en`);
    expect(person.cookies.get('pg_lang')).toBe('en');
    expect((await person.post('/access/auth/signin', { key, login: 'lang-returner', password: 'correct horse battery', lang: 'en' })).location).toBe(`/access/auth?key=${key}`);
    // ...and carried by a browser that kept no cookie, whose bare address would be French.
    await person.post('/account/signout', {});
    person.cookies.delete('pg_lang');
    await person.get(`/access/auth?key=${key}&lang=en`);
    person.cookies.delete('pg_lang');
    expect((await person.post('/access/auth/signin', { key, login: 'lang-returner', password: 'correct horse battery', lang: 'en' })).location).toBe(`/access/auth?key=${key}&lang=en`);
  });

  it('say nothing of an app for a key whose secret is wrong, nor once the request is answered', async () => {
    const { person, page, key } = await openAuthPage('answered-app', 'en');
    const register = href(page.text, '/account/register?');
    const forged = register.replace(encodeURIComponent(key), encodeURIComponent(`${key.slice(0, -4)}AAAA`));
    expect(forged).not.toBe(register);
    expect(introOf((await person.get(forged)).text)).toBe('Once your account is created, you carry on where you left off.');
    // Registering on the way leads back to the auth page, whose answer ends the flow.
    const registered = await person.post('/account/register', { username: 'answering-user', email: 'answering@example.test', password: 'long enough password', next: new URL(register, base).searchParams.get('next')! });
    expect(registered.status).toBe(303);
    expect((await person.decide(key, 'refuse')).status).toBeLessThan(400);
    expect(introOf((await person.get(register)).text)).not.toContain('answered-app');
  });
});
