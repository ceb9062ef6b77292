import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountsOf } from '../../../src/doors/accounts/accounts.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { FormClient } from '../access/form-client.js';
import { outboxMails, resetToken } from '../access/outbox.js';

describe('a password reset after a lock-out', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_SCRYPT_COST: '10', PAIRGATE_TRUST_PROXY: '127.0.0.1', PAIRGATE_SIGNIN_FAILURES_PER_ACCOUNT: '2', PAIRGATE_SIGNIN_FAILURES_PER_IP: '2' });
    base = await t.listen();
  });
  afterAll(() => t.close());

  it('lets the person sign in with the new password at once; the guessing network stays refused', async () => {
    await new FormClient(base, { 'x-forwarded-for': '10.7.0.1' }).register('locked-then-reset', 'the old password');
    const guesser = new FormClient(base, { 'x-forwarded-for': '192.0.2.9' });
    for (let i = 0; i < 2; i++) expect((await guesser.signIn('locked-then-reset', `guess ${i}`)).status).toBe(401);
    const owner = new FormClient(base, { 'x-forwarded-for': '10.7.0.2' });
    expect((await owner.signIn('locked-then-reset', 'the old password')).status).toBe(429);

    await owner.get('/account/reset');
    await owner.post('/account/reset', { login: 'locked-then-reset' });
    await accountsOf({ server: t.app }).parts.afterAnswer.idle();
    const token = resetToken(outboxMails(t.config.PAIRGATE_DATA_DIR).at(-1)!);
    await owner.get(`/account/reset/confirm?token=${token}`);
    expect((await owner.post('/account/reset/confirm', { token, password: 'the new password' })).status).toBe(200);

    expect((await owner.signIn('locked-then-reset', 'the new password')).status).toBe(303);
    // The network that spent its own budget is still refused, whatever it types.
    const refused = await guesser.signIn('locked-then-reset', 'the new password');
    expect(refused.status).toBe(429);
    // A reset does not lift a network's budget, so this refusal does not point there.
    expect(/role="alert"[^>]*>([^<]+)</.exec(refused.text)?.[1]).toBe('Too many failed sign-ins. Try again in 15 minutes.');
  });
});
