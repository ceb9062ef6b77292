import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountsOf } from '../../../src/doors/accounts/accounts.js';
import { SupporterPasswords } from '../../../src/doors/support/supporter-passwords.js';
import { SupportOriginClient } from '../../../src/sdk/support.js';
import type { TestApp } from '../../helpers/app.js';
import { ADMIN, basicAuth, startOrigin, startRelay } from './helpers.js';

const AVATAR = 'https://avatars.example/thorsten.png';
const OWN = { user: 'joe-helper', password: 'right-pass' };
const ROUNDS = 6;

/** CPU time (user + system, every thread of this process: the scrypt pool too) `work` takes, in ms. */
async function cpuMs(work: () => Promise<unknown>): Promise<number> {
  const before = process.cpuUsage();
  await work();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

/**
 * The work a refusal costs, counted in CPU time with the server in this process: a wrong username
 * (or an id no session has) must cost one scrypt like a wrong password, so the time taken tells
 * nothing about a session's login name. Not wall-clock: CPU time does not depend on the machine's load.
 */
describe('support origin: every refused credential costs one scrypt', () => {
  let relay: TestApp;
  let origin: TestApp;
  beforeAll(async () => {
    relay = await startRelay();
    origin = await startOrigin(relay.url, { PAIRGATE_SUPPORT_AUTH_FAILURES_PER_IP: '1000', PAIRGATE_SUPPORT_AUTH_FAILURES_PER_SESSION: '1000', PAIRGATE_RATE_LIMIT_MAX: '100000' });
    const sdk = new SupportOriginClient({ baseUrl: origin.url, ...ADMIN });
    await sdk.createSession({ id: 'timed', ttl: 600, supporterName: 'Thorsten', supporterAvatar: AVATAR, username: OWN.user, password: OWN.password });
  });
  afterAll(async () => {
    await origin?.close();
    await relay?.close();
  });

  /** CPU ms per request of ROUNDS sequential GET /session/:id with `authorization`, each expected to get `status`. */
  const perRequest = async (id: string, authorization: string | undefined, status: number): Promise<number> =>
    (await cpuMs(async () => {
      for (let i = 0; i < ROUNDS; i++) {
        const response = await fetch(`${origin.url}/session/${id}`, { headers: { accept: 'application/json', ...(authorization ? { authorization } : {}) } });
        await response.arrayBuffer();
        expect(response.status).toBe(status);
      }
    })) / ROUNDS;

  it('a wrong username, a wrong password and an unknown id each cost about one scrypt more than no credentials', async () => {
    // Warm up every path once (the dummy hash is made at its first use).
    await perRequest('timed', basicAuth('someone-else', 'x'), 401);
    await perRequest('timed', basicAuth(OWN.user, 'wrong'), 401);
    await perRequest('timed', undefined, 401);
    const passwords = new SupporterPasswords(accountsOf({ server: origin.app }).parts.hashing);
    const oneScrypt = (await cpuMs(async () => {
      for (let i = 0; i < ROUNDS; i++) await passwords.hash('a password', undefined);
    })) / ROUNDS;

    const none = await perRequest('timed', undefined, 401);
    const wrongPassword = await perRequest('timed', basicAuth(OWN.user, 'wrong'), 401);
    const wrongUser = await perRequest('timed', basicAuth('someone-else', OWN.password), 401);
    const unknownId = await perRequest('nobody-has-it', basicAuth(OWN.user, OWN.password), 401);
    const right = await perRequest('timed', basicAuth(OWN.user, OWN.password), 200);

    const extra = { wrongPassword: wrongPassword - none, wrongUser: wrongUser - none, unknownId: unknownId - none };
    // Each path runs exactly one scrypt beyond the request itself: within half and one and a half of one.
    for (const [path, ms] of Object.entries(extra)) {
      expect(ms, `${path}: ${ms.toFixed(1)} ms of CPU, one scrypt is ${oneScrypt.toFixed(1)} ms`).toBeGreaterThan(oneScrypt * 0.5);
      expect(ms, `${path}: ${ms.toFixed(1)} ms of CPU, one scrypt is ${oneScrypt.toFixed(1)} ms`).toBeLessThan(oneScrypt * 1.5);
    }
    // The right login is checked with scrypt once, then found among the verified logins
    // (VerifiedLogins): one scrypt for all the rounds, not one each.
    expect(right - none, `right: ${(right - none).toFixed(1)} ms of CPU, one scrypt is ${oneScrypt.toFixed(1)} ms`).toBeLessThan(oneScrypt * 0.5);
  }, 30_000);
});
