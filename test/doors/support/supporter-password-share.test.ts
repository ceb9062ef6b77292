import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountsOf } from '../../../src/doors/accounts/accounts.js';
import type { PasswordHashing } from '../../../src/doors/accounts/password-hashing.js';
import type { TestApp } from '../../helpers/app.js';
import { ADMIN_AUTH, basicAuth, startOrigin, startRelay } from './helpers.js';

const OWN = { user: 'share-helper', password: 'right-pass' };

/** Resolves once `done()` holds, checked every few milliseconds; fails after 5 s. */
async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`never came: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * The support door's supporter-password scrypts share the node's password gate with sign-ins: they
 * pass the request's client network too, so one network polling a session with its own login holds
 * at most its share of the waiting places (4 places: 2), and the others still queue.
 */
describe('support origin: supporter-password checks count against their network\'s share of the gate', () => {
  let relay: TestApp;
  let origin: TestApp;
  let gate: PasswordHashing;
  const poll = (address: string) => fetch(`${origin.url}/session/shared`, { headers: { accept: 'application/json', authorization: basicAuth(OWN.user, OWN.password), 'x-forwarded-for': address } });

  beforeAll(async () => {
    relay = await startRelay();
    origin = await startOrigin(relay.url, { PAIRGATE_TRUST_PROXY: '127.0.0.1', PAIRGATE_PASSWORD_HASHES_AT_ONCE: '1', PAIRGATE_PASSWORD_HASH_QUEUE: '4', PAIRGATE_RATE_LIMIT_MAX: '100000', PAIRGATE_SUPPORT_AUTH_FAILURES_PER_IP: '1000' });
    gate = accountsOf({ server: origin.app }).parts.hashing;
    await accountsOf({ server: origin.app }).prepare();
    const created = await fetch(`${origin.url}/session`, { method: 'POST', headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' }, body: JSON.stringify({ id: 'shared', ttl: 600, supporter_name: 'Thorsten', supporter_avatar: 'https://avatars.example/thorsten.png', username: OWN.user, password: OWN.password }) });
    expect(created.status).toBe(201);
  });
  afterAll(async () => {
    await origin?.close();
    await relay?.close();
  });

  it('one network: 2 waiting, 2 more refused 503 password_hashing_network_busy; another network still waits, and all admitted get in', async () => {
    let end!: () => void;
    void gate.run(() => new Promise<void>((resolve) => (end = resolve)), undefined);
    try {
      let answered = 0;
      const crowd = Promise.all(Array.from({ length: 4 }, async () => {
        const answer = await poll('203.0.113.20');
        answered++;
        return { status: answer.status, body: (await answer.json()) as Record<string, unknown> };
      }));
      await until(() => gate.load.waiting + answered === 4, 'the crowd at the gate');
      expect(gate.load.waiting).toBe(2);
      const other = poll('203.0.113.21');
      await until(() => gate.load.waiting === 3, 'the other network waiting');
      end();
      const answers = await crowd;
      expect(answers.map((answer) => answer.status).sort()).toEqual([200, 200, 503, 503]);
      expect(answers.find((answer) => answer.status === 503)!.body).toMatchObject({ Code: 'password_hashing_network_busy' });
      expect((await other).status).toBe(200);
    } finally {
      end();
    }
  }, 30_000);
});
