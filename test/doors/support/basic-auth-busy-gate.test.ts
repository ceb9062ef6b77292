import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountsOf } from '../../../src/doors/accounts/accounts.js';
import type { PasswordHashing } from '../../../src/doors/accounts/password-hashing.js';
import type { TestApp } from '../../helpers/app.js';
import { ADMIN_AUTH, basicAuth, startOrigin, startRelay } from './helpers.js';

const OWN = { user: 'gate-helper', password: 'right-pass' };

/**
 * A session's own supporter login is checked with one scrypt on every call that presents it, and
 * a session created with a password hashes it: those scrypts ran beside the accounts' gate
 * (`PasswordHashing`), unbounded, on the threads and memory the gate is there to bound. They go
 * through the node's gate now, and a full gate is the documented 503 `password_hashing_busy` with
 * Retry-After, not a queue without end nor a 500.
 */
describe('support origin: supporter passwords go through the node\'s password gate', () => {
  let relay: TestApp;
  let origin: TestApp;
  let gate: PasswordHashing;
  /** Ends the hashes holding every place of the gate. */
  let release: () => void = () => undefined;
  /** Holds the gate's one place, so the next hash is refused (no queue). */
  const fill = () => {
    let end!: () => void;
    void gate.run(() => new Promise<void>((resolve) => (end = resolve)));
    release = end;
    expect(gate.load).toEqual({ running: 1, waiting: 0 });
  };
  const call = (path: string, init: RequestInit = {}) => fetch(`${origin.url}${path}`, { ...init, headers: { accept: 'application/json', 'content-type': 'application/json', ...init.headers } });

  beforeAll(async () => {
    relay = await startRelay();
    origin = await startOrigin(relay.url, { PAIRGATE_PASSWORD_HASHES_AT_ONCE: '1', PAIRGATE_PASSWORD_HASH_QUEUE: '0', PAIRGATE_RATE_LIMIT_MAX: '100000', PAIRGATE_SUPPORT_AUTH_FAILURES_PER_IP: '2', PAIRGATE_SUPPORT_AUTH_FAILURES_PER_SESSION: '2' });
    gate = accountsOf({ server: origin.app }).parts.hashing;
    const created = await call('/session', { method: 'POST', headers: { authorization: ADMIN_AUTH }, body: JSON.stringify({ id: 'gated', ttl: 600, supporter_name: 'Thorsten', supporter_avatar: 'https://avatars.example/thorsten.png', username: OWN.user, password: OWN.password }) });
    expect(created.status).toBe(201);
  });
  afterAll(async () => {
    release();
    await origin?.close();
    await relay?.close();
  });

  it('a session\'s own login checked while the gate is full: 503 password_hashing_busy with Retry-After, counted as no failure; then 200', async () => {
    await gate.dummy(); // the support door's dummy hash aside, the gate is idle here
    fill();
    try {
      for (const authorization of [basicAuth(OWN.user, OWN.password), basicAuth(OWN.user, 'wrong'), basicAuth('someone-else', OWN.password)]) {
        const refused = await call('/session/gated', { headers: { authorization } });
        expect(refused.status).toBe(503);
        expect(refused.headers.get('retry-after')).toBe('1');
        // The door's Plexus shape, its machine code the accounts' own.
        expect(await refused.json()).toEqual({ Error: 'Service Unavailable', Description: 'The server is busy checking other passwords. Try again in a moment.', Code: 'password_hashing_busy' });
      }
      // The admin's credentials are compared, not hashed: the gate does not stop them.
      expect((await call('/session/gated', { headers: { authorization: ADMIN_AUTH } })).status).toBe(200);
      // A session created with its own password hashes it: refused the same way, nothing created.
      const creating = await call('/session', { method: 'POST', headers: { authorization: ADMIN_AUTH }, body: JSON.stringify({ id: 'gated-two', ttl: 600, supporter_name: 'Thorsten', supporter_avatar: 'https://avatars.example/thorsten.png', username: OWN.user, password: OWN.password }) });
      expect(creating.status).toBe(503);
      expect(creating.headers.get('retry-after')).toBe('1');
    } finally {
      release();
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(gate.load).toEqual({ running: 0, waiting: 0 });
    // The refusals spent nothing (two wrong credentials counted would have spent the budgets of
    // two): the right login gets in, and the id was never taken.
    expect((await call('/session/gated', { headers: { authorization: basicAuth(OWN.user, OWN.password) } })).status).toBe(200);
    expect((await call('/session/gated-two', { headers: { authorization: ADMIN_AUTH } })).status).toBe(404);
  }, 30_000);
});
