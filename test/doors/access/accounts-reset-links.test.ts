import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountsOf } from '../../../src/doors/accounts/accounts.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { FormClient } from './form-client.js';
import { outboxMails, resetToken } from './outbox.js';

/**
 * Reset links still unused when the password changes must die with the old password: a link
 * mailed earlier (to a mailbox someone else reads, or forwarded) would otherwise still set the
 * password for up to PAIRGATE_RESET_TTL_SECONDS after the owner has taken the account back.
 */
describe('outstanding reset links when the password changes', () => {
  let t: TestApp;
  let base: string;
  let n = 0;
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_SCRYPT_COST: '10', PAIRGATE_RESET_MAILS_PER_HOUR: '5' });
    base = await t.listen();
  });
  afterAll(() => t.close());

  /** Asks for a reset link for `login` and returns its token. */
  const mailedToken = async (login: string): Promise<string> => {
    const asker = new FormClient(base, { 'x-forwarded-for': `10.1.0.${++n}` });
    await asker.get('/account/reset');
    expect((await asker.post('/account/reset', { login })).status).toBe(200);
    await accountsOf({ server: t.app }).parts.afterAnswer.idle();
    return resetToken(outboxMails(t.config.PAIRGATE_DATA_DIR).at(-1)!);
  };

  const useLink = async (token: string, password: string) => {
    const browser = new FormClient(base);
    // The form's CSRF token from a page that always has a form (a dead link's page has none).
    await browser.get('/account/reset');
    return browser.post('/account/reset/confirm', { token, password });
  };

  it('a reset with one link makes the other links of the account useless', async () => {
    await new FormClient(base).register('two-links-user', 'the first password');
    const older = await mailedToken('two-links-user');
    const newer = await mailedToken('two-links-user');
    expect((await useLink(newer, 'the owner password')).status).toBe(200);
    const stale = await useLink(older, 'the intruder password');
    expect(stale.status).toBe(404);
    expect((await new FormClient(base).signIn('two-links-user', 'the owner password')).status).toBe(303);
  });

  it('a password change while signed in makes the account\'s reset links useless', async () => {
    const owner = new FormClient(base);
    await owner.register('changed-user', 'the first password');
    const mailed = await mailedToken('changed-user@example.test');
    await owner.get('/account/password');
    expect((await owner.post('/account/password', { current: 'the first password', password: 'the owner password' })).status).toBe(200);
    expect((await new FormClient(base).get(`/account/reset/confirm?token=${mailed}`)).status).toBe(404);
    expect((await useLink(mailed, 'the intruder password')).status).toBe(404);
    expect((await new FormClient(base).signIn('changed-user', 'the owner password')).status).toBe(303);
  });
});
