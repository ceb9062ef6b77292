import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { authRequest, FormClient, postJson } from './form-client.js';

/**
 * The app's language (its languageCode) is the app's choice: its own link names it (`?lang=fr`),
 * and no page of the auth flow (sign-in, consent, the answer already given) remembers it in pg_lang
 * as the person's. The page hands the app's language to the render itself (no state kept per
 * request), so every page of the flow is checked here, each against a page outside the flow that
 * does remember the same ?lang=.
 */
describe('the app\'s language on the auth flow\'s pages is never remembered as the person\'s', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_SCRYPT_COST: '10' });
    base = await t.listen();
  });
  afterAll(() => t.close());

  /** The path and query of the auth page link the app got for a new French request, and its key. */
  const frenchRequest = async (app: string): Promise<{ link: string; key: string }> => {
    const created = await postJson(`${base}/access`, authRequest({ requestingAppId: app, languageCode: 'fr' }));
    const url = new URL(String(created.body.url));
    expect(url.searchParams.get('lang')).toBe('fr');
    return { link: `${url.pathname}${url.search}`, key: String(created.body.key) };
  };

  it('the sign-in form, the consent screen and the already-answered page, each opened by the app\'s ?lang=fr link, set no pg_lang', async () => {
    const person = new FormClient(base, { 'accept-language': 'en' });
    await person.register('app-lang-person');
    await person.post('/account/signout', {});
    const { link, key } = await frenchRequest('app-lang-app');

    const signin = await person.get(link);
    expect(signin.text).toContain('<html lang="fr">');
    expect(signin.text).toContain('/access/auth/signin');
    expect(signin.headers.get('set-cookie') ?? '').not.toContain('pg_lang');

    expect((await person.post('/access/auth/signin', { key, login: 'app-lang-person', password: 'correct horse battery', lang: 'fr' })).status).toBe(303);
    const consent = await person.get(link);
    expect(consent.text).toContain('<html lang="fr">');
    expect(consent.text).toContain('/access/auth/decide');
    expect(consent.headers.get('set-cookie') ?? '').not.toContain('pg_lang');

    expect((await person.post('/access/auth/decide', { key, decision: 'refuse', lang: 'fr' })).status).toBeLessThan(400);
    const answered = await person.get(link);
    expect(answered.status).toBe(409);
    expect(answered.text).toContain('<html lang="fr">');
    expect(answered.headers.get('set-cookie') ?? '').not.toContain('pg_lang');
    expect(person.cookies.has('pg_lang')).toBe(false);

    // The same ?lang=fr on a page outside the flow, in this English browser, is the person's choice.
    const account = await person.get('/account/accesses?lang=fr');
    expect(account.text).toContain('<html lang="fr">');
    expect(person.cookies.get('pg_lang')).toBe('fr');
  });

  it('a ?lang= naming another language than the app\'s, on the flow\'s page, is the person\'s choice and is remembered', async () => {
    const person = new FormClient(base, { 'accept-language': 'fr' });
    const { key } = await frenchRequest('app-lang-other');
    const english = await person.get(`/access/auth?key=${key}&lang=en`);
    expect(english.text).toContain('<html lang="en">');
    expect(person.cookies.get('pg_lang')).toBe('en');
  });
});
