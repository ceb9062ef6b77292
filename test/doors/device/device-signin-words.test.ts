import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { FormClient } from '../access/form-client.js';
import { DEVICE_ENV } from './device-helpers.js';

/** The alert of a page. */
const alertOf = (html: string): string | undefined => /role="alert"[^>]*>([^<]+)</.exec(html)?.[1];

describe('the device sign-in form past its budget', () => {
  let t: TestApp;
  let base: string;
  let nextAddress = 1;
  const newClient = () => new FormClient(base, { 'x-forwarded-for': `10.9.1.${nextAddress++}` });
  beforeAll(async () => {
    t = await createTestApp({ ...DEVICE_ENV, PAIRGATE_TRUST_PROXY: '127.0.0.1', PAIRGATE_SIGNIN_FAILURES_PER_ACCOUNT: '2', PAIRGATE_SIGNIN_WINDOW_SECONDS: '900' });
    base = await t.listen();
    await newClient().register('device-locked', 'the right password');
  });
  afterAll(() => t.close());

  /** Types a new device's code, then signs in on the way to its consent screen, in `lang`. */
  const signInForDevice = async (person: FormClient, password: string, lang: string) => {
    const started = await fetch(`${base}/oauth/device_authorization`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: 'cli' }) });
    const { user_code: userCode } = (await started.json()) as { user_code: string };
    await person.get(`/device?lang=${lang}`);
    const typed = await person.post('/device', { user_code: userCode, lang });
    const form = await person.get(typed.location!);
    const key = /name="key" value="([^"]+)"/.exec(form.text)![1]!;
    return person.post('/device/signin', { key, login: 'device-locked', password, lang });
  };

  it('says when to try again and points to the password reset, in the page\'s language (it said "try again later")', async () => {
    const person = newClient();
    for (let i = 0; i < 2; i++) expect((await signInForDevice(person, `guess ${i}`, 'en')).status).toBe(401);
    const limited = await signInForDevice(person, 'the right password', 'en');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(alertOf(limited.text)).toBe('Too many failed sign-ins with this name. Try again in 15 minutes, or choose a new password with “Forgot your password?” below.');
    expect(limited.text).toContain('href="/account/reset?next=');
    const french = await signInForDevice(newClient(), 'the right password', 'fr');
    expect(alertOf(french.text)).toBe('Trop de connexions échouées avec ce nom. Réessayez dans 15 minutes, ou choisissez un nouveau mot de passe avec «\u00a0Mot de passe oublié\u00a0?\u00a0» ci-dessous.');
  });
});
