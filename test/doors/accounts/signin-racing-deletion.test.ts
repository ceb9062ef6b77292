import { describe, expect, it } from 'vitest';
import { storeSetups } from '../../helpers/services.js';
import { listeningNodes } from '../../helpers/setup-nodes.js';
import { FormClient } from '../access/form-client.js';

// A cost that makes the check long next to the deletion's few writes; budgets out of the way.
const ENV = { PAIRGATE_SCRYPT_COST: '13', PAIRGATE_SIGNIN_FAILURES_PER_ACCOUNT: '100000', PAIRGATE_SIGNIN_FAILURES_PER_IP: '100000', PAIRGATE_RATE_LIMIT_MAX: '100000' };

// Sessions and accounts live in the durable store alone: SQLite, and PostgreSQL (one node: the race is within one).
const setups = (await storeSetups()).filter((setup) => !setup.name.includes('Redis'));

/**
 * Someone signs in while the account's owner deletes it. A sign-in whose password check (a scrypt
 * long) began before the deletion and ended after it went on to write its session for an account
 * that was gone: the session's foreign key refused the row, and the sign-in was answered 500.
 */
for (const setup of setups) describe.skipIf(Boolean(setup.skip))(`a sign-in racing the deletion of its account, ${setup.name.replace(/^two nodes sharing/, 'one node on')}${setup.skip ? ` (skipped: ${setup.skip})` : ''}`, () => {
  const { baseFor } = listeningNodes({ ...setup, nodes: 1 }, ENV);

  it('is refused as a wrong password (401), never a 500, and leaves no session', async () => {
    const base = baseFor(0);
    const statuses = new Map<number, number>();
    const opened: FormClient[] = [];
    for (let round = 0; round < 5; round++) {
      const owner = new FormClient(base);
      const name = `deleted-while-signing-in-${round}`;
      await owner.register(name, 'the only password');
      let stop = false;
      const loop = async (): Promise<void> => {
        while (!stop) {
          const other = new FormClient(base);
          const answer = await other.signIn(name, 'the only password');
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          if (answer.status === 303) opened.push(other);
        }
      };
      const loops = [loop(), loop(), loop()];
      await new Promise((resolve) => setTimeout(resolve, 100));
      await owner.get('/account/delete');
      expect((await owner.post('/account/delete', { password: 'the only password' })).status).toBe(200);
      // A few sign-ins more after the deletion, then stop.
      await new Promise((resolve) => setTimeout(resolve, 100));
      stop = true;
      await Promise.all(loops);
    }
    expect([...statuses.keys()].filter((status) => status >= 500)).toEqual([]);
    expect(statuses.get(303)).toBeGreaterThan(0);
    expect(statuses.get(401)).toBeGreaterThan(0);
    // No browser that signed in is still signed in: the accounts are gone.
    for (const other of opened) expect((await other.get('/account/password')).status).toBe(303);
  }, 60_000);
});
