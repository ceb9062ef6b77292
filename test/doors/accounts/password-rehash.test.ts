import { describe, expect, it } from 'vitest';
import { accountsOf } from '../../../src/doors/accounts/accounts.js';
import { hashPassword } from '../../../src/doors/accounts/passwords.js';
import { useListeningApp } from '../../helpers/app.js';
import { FormClient } from '../access/form-client.js';

/**
 * `PAIRGATE_SCRYPT_COST` raised (here: a hash of cost 10 on a server of cost 11): a password
 * hashed before kept its old cost for good, so raising the cost protected only new passwords, and
 * a known name whose hash was cheaper answered sooner than an unknown one (checked at the new cost).
 */
describe('a password hashed at another cost', () => {
  const s = useListeningApp({ PAIRGATE_SCRYPT_COST: '11' });

  async function storedHash(login: string): Promise<string> {
    return (await accountsOf({ server: s.t.app }).parts.users.findByLogin(login))!.passwordHash;
  }

  it('is hashed again at the configured cost by the sign-in that proves it', async () => {
    await new FormClient(s.base).register('old-cost', 'an old cost password');
    const users = accountsOf({ server: s.t.app }).parts.users;
    const user = (await users.findByLogin('old-cost'))!;
    expect(await users.setPasswordHashAnd(user.id, await hashPassword('an old cost password', 10), async () => {})).toBeDefined();
    expect(await storedHash('old-cost')).toMatch(/^scrypt\$10\$/);

    // A wrong password changes nothing.
    expect((await new FormClient(s.base).signIn('old-cost', 'not the password')).status).toBe(401);
    expect(await storedHash('old-cost')).toMatch(/^scrypt\$10\$/);

    const browser = new FormClient(s.base);
    expect((await browser.signIn('old-cost', 'an old cost password')).status).toBe(303);
    expect(await storedHash('old-cost')).toMatch(/^scrypt\$11\$8\$1\$/);
    // The session opened by that sign-in lives on, and the password still opens the account.
    expect((await browser.get('/account/password')).status).toBe(200);
    expect((await new FormClient(s.base).signIn('old-cost@example.test', 'an old cost password')).status).toBe(303);
  });
});
