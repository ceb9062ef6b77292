import { describe, expect, it } from 'vitest';
import { accountsOf } from '../../../src/doors/accounts/accounts.js';
import { FormClient } from '../access/form-client.js';
import { outboxMails, resetToken } from '../access/outbox.js';
import { ACCOUNT_FAILURES, useDeviceCookieApp } from './device-cookie-helpers.js';

/**
 * A device cookie lets its browser past an account's spent failure budget, on a budget of its own.
 * It was good for its whole lifetime (a year by default) whatever became of the password: someone
 * who once signed in (a thief, a former partner) kept, after the owner reset or changed it, a budget
 * of guesses at the new password beside the account's, about twice the guesses anyone else has.
 * A new password voids the cookies issued under the old one.
 */
describe('a new password voids the device cookies of the old one', () => {
  const app = useDeviceCookieApp({ Client: FormClient, network: '10.47' });
  const { newClient, signedInBrowser } = app;
  /** Spends `login`'s account budget; a fourth wrong password is then refused too. */
  const lockOut = (login: string) => app.lockOut(login, `a guess ${ACCOUNT_FAILURES}`);

  it('after a reset, a browser that signed in with the old password is counted as any other: refused while the account is locked', async () => {
    await newClient().register('reset-owner', 'the old password');
    const intruder = await signedInBrowser('reset-owner', 'the old password');

    // The owner, told of the intrusion, resets the password from another browser.
    const owner = newClient();
    await owner.get('/account/reset');
    await owner.post('/account/reset', { login: 'reset-owner' });
    await accountsOf({ server: app.t.app }).parts.afterAnswer.idle();
    const token = resetToken(outboxMails(app.t.config.PAIRGATE_DATA_DIR).at(-1)!);
    await owner.get(`/account/reset/confirm?token=${token}`);
    expect((await owner.post('/account/reset/confirm', { token, password: 'the new password' })).status).toBe(200);

    await lockOut('reset-owner');
    // Its cookie is void: a guess (here even the right password) is refused with everyone else's,
    // and costs nothing. Before, the cookie's own budget took it (and two wrong ones more).
    const tried = await intruder.signIn('reset-owner', 'the new password');
    expect(tried.status).toBe(429);
    // The old cookie still names the old password only: a sign-in, once the lock is lifted, gives a new one.
    expect(intruder.cookies.get('pg_device')).toBeDefined();
  });

  it('after a change, the browsers of the old password lose their own budget, and the one that changed it keeps one', async () => {
    await newClient().register('change-owner', 'the old password');
    const laptop = await signedInBrowser('change-owner', 'the old password');
    const oldPhone = await signedInBrowser('change-owner', 'the old password');

    await laptop.get('/account/password');
    const changed = await laptop.post('/account/password', { current: 'the old password', password: 'the new password' });
    expect(changed.status).toBe(200);

    await lockOut('change-owner');
    // The browser that changed it proved the new password: it got a cookie under it.
    expect((await laptop.signIn('change-owner', 'the new password')).status).toBe(303);
    // The other one's cookie was issued under the old password: no budget of its own.
    expect((await oldPhone.signIn('change-owner', 'the new password')).status).toBe(429);
  });
});
