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

  /** A new request of `app` in `lang`, its auth page opened by a person with no account. */
  const openAuthPage = async (app: string, lang: string) => {
    const created = await postJson(`${base}/access`, authRequest({ requestingAppId: app, languageCode: lang }));
    const person = new FormClient(base);
    const page = await person.get(`/access/auth?key=${String(created.body.key)}`);
    return { person, page, key: String(created.body.key) };
  };

  it('say which app asks, in the page\'s language, from the stored request', async () => {
    const { person, page } = await openAuthPage('intro-app', 'en');
    const register = await person.get(href(page.text, '/account/register?'));
    expect(introOf(register.text)).toBe('intro-app asks for access to your account. Once your account is created, you carry on where you left off.');
    const reset = await person.get(href(page.text, '/account/reset?'));
    expect(introOf(reset.text)).toBe('intro-app asks for access to your account. After choosing a new password, you sign in and carry on where you left off.');

    const french = await openAuthPage('appli-fr', 'fr');
    const registerFr = await french.person.get(href(french.page.text, '/account/register?'));
    expect(introOf(registerFr.text)).toBe('appli-fr demande un accès à votre compte. Une fois votre compte créé, vous reprenez là où vous en étiez.');
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
