import { describe, expect, it } from 'vitest';
import { accountsOf, type Accounts } from '../../../src/doors/accounts/accounts.js';
import { storeSetups } from '../../helpers/services.js';
import { listeningNodes } from '../../helpers/setup-nodes.js';
import { FormClient } from '../access/form-client.js';

const ENV = { PAIRGATE_SCRYPT_COST: '10', PAIRGATE_RATE_LIMIT_MAX: '100000' };

// Accounts, sessions and reset links live in the durable store alone: SQLite, and PostgreSQL (one node: the race is within one).
const setups = (await storeSetups()).filter((setup) => !setup.name.includes('Redis'));

const CHANGED = 'Your password has been changed';
const WRONG_CURRENT = 'The current password is wrong.';
const DEAD_LINK = 'This link is invalid, already used or expired.';

/**
 * Replaces `object[name]` so that, once the original has answered, the account `userId` is
 * deleted before the answer goes on (the deletion slipped in between two steps); put back after one call.
 */
function deleteAfter<O extends object, K extends keyof O>(accounts: Accounts, object: O, name: K, userId: string): void {
  const original = object[name] as (...args: unknown[]) => Promise<unknown>;
  (object as Record<K, unknown>)[name] = async (...args: unknown[]) => {
    (object as Record<K, unknown>)[name] = original;
    const answer = await original.apply(object, args);
    expect(await accounts.parts.users.delete(userId)).toBe(true);
    return answer;
  };
}

/**
 * The owner deletes the account (another tab, another device) while a password change or a reset
 * of it runs. The change wrote its hash to no row, or its session could not be written, and the
 * page said "changed" to a browser left with a dead session cookie; the reset said so too, for a
 * link whose account was gone.
 */
for (const setup of setups) describe.skipIf(Boolean(setup.skip))(`a password change or reset racing the deletion of its account, ${setup.name.replace(/^two nodes sharing/, 'one node on')}${setup.skip ? ` (skipped: ${setup.skip})` : ''}`, () => {
  const { nodes, baseFor } = listeningNodes({ ...setup, nodes: 1 }, ENV);
  const accounts = (): Accounts => accountsOf({ server: nodes[0]!.app });

  async function signedIn(name: string): Promise<{ client: FormClient; userId: string }> {
    const client = new FormClient(baseFor(0));
    await client.register(name, 'the old password');
    const user = await accounts().parts.users.findByLogin(name);
    return { client, userId: user!.id };
  }

  async function expectNoSession(client: FormClient, userId: string): Promise<void> {
    expect([...client.cookies.keys()].filter((name) => name.endsWith('pg_session'))).toEqual([]);
    expect((await client.get('/account/password')).status).toBe(303);
    expect(await accounts().parts.users.findById(userId)).toBeUndefined();
  }

  it('change: the account deleted after the current password is checked, before the new one is written, is a 401 and leaves no session', async () => {
    const { client, userId } = await signedIn('change-gone-before-write');
    await client.get('/account/password');
    deleteAfter(accounts(), accounts().parts.limits, 'check', userId);
    const answer = await client.post('/account/password', { current: 'the old password', password: 'the new password' });
    expect(answer.status).toBe(401);
    expect(answer.text).toContain(WRONG_CURRENT);
    expect(answer.text).not.toContain(CHANGED);
    await expectNoSession(client, userId);
  });

  it('change: the account deleted after the new password is written, before this browser\'s session, is a 401 and leaves no session', async () => {
    const { client, userId } = await signedIn('change-gone-before-session');
    await client.get('/account/password');
    // The change's last step before the page starts the browser's new session: the transaction
    // that writes the password (and ends the account's sessions and reset links) has committed.
    deleteAfter(accounts(), accounts().parts.users, 'setPasswordHashAnd', userId);
    const answer = await client.post('/account/password', { current: 'the old password', password: 'the new password' });
    expect(answer.status).toBe(401);
    expect(answer.text).toContain(WRONG_CURRENT);
    expect(answer.text).not.toContain(CHANGED);
    await expectNoSession(client, userId);
  });

  it('reset: the account deleted after the link is spent, before the new password is written, is answered as a dead link (404)', async () => {
    const owner = new FormClient(baseFor(0));
    await owner.register('reset-gone-before-write', 'the old password');
    const userId = (await accounts().parts.users.findByLogin('reset-gone-before-write'))!.id;
    const token = await accounts().parts.resets.issue(userId, Date.now());
    const stranger = new FormClient(baseFor(0));
    expect((await stranger.get(`/account/reset/confirm?token=${token}`)).status).toBe(200);
    deleteAfter(accounts(), accounts().parts.resets, 'spend', userId);
    const answer = await stranger.post('/account/reset/confirm', { token, password: 'the new password' });
    expect(answer.status).toBe(404);
    expect(answer.text).toContain(DEAD_LINK);
    expect(answer.text).not.toContain(CHANGED);
    expect(await accounts().parts.users.findById(userId)).toBeUndefined();
  });
});
