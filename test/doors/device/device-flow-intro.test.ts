import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { FormClient } from '../access/form-client.js';
import { consentRequestOf } from '../../../src/doors/device/verification-pages.js';
import { DEVICE_ENV } from './device-helpers.js';

/** The first link of `html` whose address starts with `start`, unescaped. */
function href(html: string, start: string): string {
  const found = new RegExp(`href="(${start.replace(/[?/]/g, '\\$&')}[^"]*)"`).exec(html)?.[1];
  if (!found) throw new Error(`no link to ${start}`);
  return found.replace(/&amp;/g, '&');
}

/** The page's intro line (the muted paragraph under its heading). */
const introOf = (html: string): string | undefined => /<p class="muted">([^<]*)<\/p>/.exec(html)?.[1];

describe('the register and reset pages reached from a device\'s sign-in form', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp({ ...DEVICE_ENV });
    base = await t.listen();
  });
  afterAll(() => t.close());

  /** A browser that typed a new device's code in `lang`, and the sign-in page it reached. */
  const typeCode = async (lang: string) => {
    const started = await fetch(`${base}/oauth/device_authorization`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: 'cli' }) });
    const { user_code: userCode } = (await started.json()) as { user_code: string };
    const person = new FormClient(base);
    await person.get(`/device?lang=${lang}`);
    const typed = await person.post('/device', { user_code: userCode, lang });
    return { person, signIn: await person.get(typed.location!) };
  };

  it('say which client asks, in the page\'s language, to the browser that typed the code', async () => {
    const { person, signIn } = await typeCode('en');
    const register = href(signIn.text, '/account/register?');
    expect(introOf((await person.get(register)).text)).toBe('pairgate CLI asks for access to your account. Once your account is created, you carry on where you left off.');
    expect(introOf((await person.get(href(signIn.text, '/account/reset?'))).text)).toBe('pairgate CLI asks for access to your account. After choosing a new password, you sign in and carry on where you left off.');
    // Another browser given the same link did not type the code: the grant id proves nothing.
    expect(introOf((await new FormClient(base).get(register)).text)).toBe('Once your account is created, you carry on where you left off.');

    const french = await typeCode('fr');
    expect(introOf((await french.person.get(href(french.signIn.text, '/account/register?'))).text)).toBe('pairgate CLI demande un accès à votre compte. Une fois votre compte créé, vous reprenez là où vous en étiez.');
  });

  it('reads the request of a consent path only', () => {
    expect(consentRequestOf('/device/consent?request=abc&lang=fr')).toBe('abc');
    expect(consentRequestOf('/device/consent?lang=fr')).toBeUndefined();
    expect(consentRequestOf('/access/auth?request=abc')).toBeUndefined();
  });
});
