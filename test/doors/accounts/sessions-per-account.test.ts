import { describe, expect, it } from 'vitest';
import { MAX_SESSIONS_PER_ACCOUNT } from '../../../src/doors/accounts/sessions.js';
import { useListeningApp } from '../../helpers/app.js';
import { FormClient } from '../access/form-client.js';

/**
 * Successful sign-ins spend no failure budget, and each wrote a session row that lived on until its
 * idle time (a day): whoever holds an account's password (its owner, a script) could sign in
 * hundreds of times a minute from one network and fill the sessions table without end. An
 * account holds at most MAX_SESSIONS_PER_ACCOUNT sessions; a sign-in beyond ends the oldest.
 */
describe('sessions of one account', () => {
  const server = useListeningApp({ PAIRGATE_SCRYPT_COST: '10', PAIRGATE_SIGNIN_ATTEMPTS_PER_MINUTE: '1000' });

  const sessionRows = async (username: string) => {
    const db = server.t.app.pairgate.stores.db;
    const user = await db.selectFrom('users').select('id').where('username', '=', username).executeTakeFirstOrThrow();
    return (await db.selectFrom('account_sessions').select('token_hash').where('user_id', '=', user.id).execute()).length;
  };
  const signedIn = async (browser: FormClient) => (await browser.get('/account/password')).status === 200;

  it(`are at most ${MAX_SESSIONS_PER_ACCOUNT}: a sign-in beyond ends the oldest, and the newest stay signed in`, async () => {
    const first = new FormClient(server.base);
    await first.register('many-sessions');
    const browsers = [first];
    for (let i = 0; i < MAX_SESSIONS_PER_ACCOUNT + 4; i++) {
      const browser = new FormClient(server.base);
      expect((await browser.signIn('many-sessions', 'correct horse battery')).status).toBe(303);
      browsers.push(browser);
    }
    expect(await sessionRows('many-sessions')).toBe(MAX_SESSIONS_PER_ACCOUNT);
    // The oldest went: the registering browser and the first sign-ins.
    expect(await signedIn(first)).toBe(false);
    expect(await signedIn(browsers[4]!)).toBe(false);
    for (const browser of browsers.slice(-3)) expect(await signedIn(browser)).toBe(true);
    expect(await signedIn(browsers[browsers.length - MAX_SESSIONS_PER_ACCOUNT]!)).toBe(true);
  });

  it('a browser signing in again replaces its own session: it takes no second place', async () => {
    const browser = new FormClient(server.base);
    await browser.register('one-browser');
    for (let i = 0; i < 5; i++) expect((await browser.signIn('one-browser', 'correct horse battery')).status).toBe(303);
    expect(await sessionRows('one-browser')).toBe(1);
    expect(await signedIn(browser)).toBe(true);
  });
});
