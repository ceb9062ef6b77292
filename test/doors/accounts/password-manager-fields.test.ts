import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountsOf } from '../../../src/doors/accounts/accounts.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { FormClient } from '../access/form-client.js';
import { outboxMails, resetToken } from '../access/outbox.js';

/** The username field of a form, as password managers look for it: `autocomplete="username"` and its value. */
function usernameField(html: string): string | undefined {
  const form = /<form method="post" action="\/account\/(?:password|delete|reset\/confirm)"[\s\S]*?<\/form>/.exec(html)?.[0] ?? '';
  const input = /<input[^>]*autocomplete="username"[^>]*>/.exec(form)?.[0];
  return input === undefined ? undefined : (/value="([^"]*)"/.exec(input)?.[1] ?? '');
}

/**
 * Password managers file a password under the account it belongs to: a form that sets or asks for
 * a password with no username field leaves them guessing (a new password saved under no name, the
 * current one not filled). Each password form names its account.
 */
describe('the password forms, for password managers', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_SCRYPT_COST: '10' });
    base = await t.listen();
  });
  afterAll(() => t.close());

  it('name the account on the change-password and delete forms, and changing still works', async () => {
    const client = new FormClient(base);
    await client.register('keeper-user', 'the old password');
    expect(usernameField((await client.get('/account/password')).text)).toBe('keeper-user');
    expect((await client.post('/account/password', { current: 'the old password', password: 'the new password' })).status).toBe(200);
    expect(usernameField((await client.get('/account/delete')).text)).toBe('keeper-user');
  });

  it('name the account on the form a reset link opens, also when it is shown again', async () => {
    await new FormClient(base).register('forgetful-user', 'the old password');
    const client = new FormClient(base);
    await client.get('/account/reset');
    await client.post('/account/reset', { login: 'forgetful-user' });
    await accountsOf({ server: t.app }).parts.afterAnswer.idle();
    const token = resetToken(outboxMails(t.config.PAIRGATE_DATA_DIR).at(-1)!);
    expect(usernameField((await client.get(`/account/reset/confirm?token=${token}`)).text)).toBe('forgetful-user');
    const tooShort = await client.post('/account/reset/confirm', { token, password: 'short' });
    expect(tooShort.status).toBe(400);
    expect(usernameField(tooShort.text)).toBe('forgetful-user');
    expect((await client.post('/account/reset/confirm', { token, password: 'the new password' })).status).toBe(200);
    expect((await new FormClient(base).signIn('forgetful-user', 'the new password')).status).toBe(303);
  });
});
