import { describe, expect, it } from 'vitest';
import { useListeningApp } from '../../helpers/app.js';
import { FormClient } from '../access/form-client.js';

/**
 * Someone who holds a person's password signs in over and over; the person changes it. A sign-in
 * whose password check (a scrypt long) began before the change and ended after it wrote its
 * session after the change had ended every session, and kept it: the old password still opened
 * the account.
 */
describe('a sign-in racing a password change', () => {
  // A cost that makes the check long next to the change's few writes; budgets out of the way.
  const s = useListeningApp({ PAIRGATE_SCRYPT_COST: '13', PAIRGATE_SIGNIN_FAILURES_PER_ACCOUNT: '100000', PAIRGATE_SIGNIN_FAILURES_PER_IP: '100000', PAIRGATE_SIGNIN_ATTEMPTS_PER_MINUTE: '100000', PAIRGATE_RATE_LIMIT_MAX: '100000' });

  it('leaves no session opened with the old password', async () => {
    const owner = new FormClient(s.base);
    await owner.register('race-owner', 'password number 0');
    const kept: string[] = [];
    // Each round: the other party signs in with the current password on three loops, the owner changes it.
    for (let round = 0; round < 5; round++) {
      let stop = false;
      const opened: FormClient[] = [];
      const loop = async (): Promise<void> => {
        while (!stop) {
          const other = new FormClient(s.base);
          if ((await other.signIn('race-owner', `password number ${round}`)).status === 303) opened.push(other);
        }
      };
      const loops = [loop(), loop(), loop()];
      await new Promise((resolve) => setTimeout(resolve, 150));
      await owner.get('/account/password');
      const changed = await owner.post('/account/password', { current: `password number ${round}`, password: `password number ${round + 1}` });
      expect(changed.status).toBe(200);
      stop = true;
      await Promise.all(loops);
      expect(opened.length).toBeGreaterThan(0);
      for (const other of opened) if ((await other.get('/account/password')).status === 200) kept.push(`round ${round}`);
    }
    expect(kept).toEqual([]);
    // The owner's own browser stays signed in with the new password.
    expect((await owner.get('/account/password')).status).toBe(200);
  }, 60_000);

  it('still signs in with the password of the moment', async () => {
    const owner = new FormClient(s.base);
    await owner.register('race-owner-two', 'the one password');
    const other = new FormClient(s.base);
    expect((await other.signIn('race-owner-two', 'the one password')).status).toBe(303);
    expect((await other.get('/account/password')).status).toBe(200);
  });
});
