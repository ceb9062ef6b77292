import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { DEVICE_ENV } from '../device/device-helpers.js';
import { authRequest, FormClient, postJson } from './form-client.js';

/** The `<input>` tag of `id` in a page. */
const inputOf = (html: string, id: string): string => new RegExp(`<input [^>]*id="${id}"[^>]*>`).exec(html)?.[0] ?? '';

/**
 * A sign-in form that did not come from this site (CSRF check failed) is the form's fault, not the
 * password's: on the access door's auth page and the device door's sign-in, as on the accounts
 * door, the password field is neither marked invalid nor given the focus to type again.
 */
describe('sign-in forms refused by the CSRF check', () => {
  let t: TestApp;
  let base: string;
  const password = 'csrf fields password';
  beforeAll(async () => {
    t = await createTestApp(DEVICE_ENV);
    base = await t.listen();
    await new FormClient(base).register('csrf-fields', password);
  });
  afterAll(() => t.close());

  /** Asserts the form says the CSRF error and puts it on no password field. */
  const expectFormFault = (answer: { status: number; text: string }) => {
    expect(answer.status).toBe(403);
    expect(answer.text).toMatch(/role="alert" id="form-error">[^<]+</);
    const passwordField = inputOf(answer.text, 'password');
    expect(passwordField).toContain('type="password"');
    expect(passwordField).not.toContain('aria-invalid');
    expect(passwordField).not.toContain('autofocus');
    // The name is kept, and the focus starts at the top of the form.
    expect(inputOf(answer.text, 'login')).toMatch(/value="csrf-fields"[^>]* autofocus/);
  };

  it('on the access door\'s auth page', async () => {
    const person = new FormClient(base);
    const created = await postJson(`${base}/access`, authRequest({ requestingAppId: 'csrf-fields-app' }));
    const key = String(created.body.key);
    expect((await person.get(`/access/auth?key=${key}`)).status).toBe(200);
    expectFormFault(await person.post('/access/auth/signin', { key, login: 'csrf-fields', password, _csrf: 'forged' }));
    // A wrong password still marks the password field (the check above is about the CSRF case only).
    const wrong = await person.post('/access/auth/signin', { key, login: 'csrf-fields', password: 'not it' });
    expect(wrong.status).toBe(401);
    expect(inputOf(wrong.text, 'password')).toContain('aria-invalid="true"');
  });

  it('on the device door\'s sign-in', async () => {
    const person = new FormClient(base);
    const started = await fetch(`${base}/oauth/device_authorization`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: 'tv-app' }) });
    const { user_code: userCode } = (await started.json()) as { user_code: string };
    await person.get('/device');
    const typed = await person.post('/device', { user_code: userCode });
    expect(typed.status).toBe(303);
    const signin = await person.get(typed.location!);
    const key = /name="key" value="([^"]+)"/.exec(signin.text)![1]!;
    expectFormFault(await person.post('/device/signin', { key, login: 'csrf-fields', password, _csrf: 'forged' }));
    const wrong = await person.post('/device/signin', { key, login: 'csrf-fields', password: 'not it' });
    expect(wrong.status).toBe(401);
    expect(inputOf(wrong.text, 'password')).toContain('aria-invalid="true"');
  });
});
