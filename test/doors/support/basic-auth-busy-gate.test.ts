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
    void gate.run(() => new Promise<void>((resolve) => (end = resolve)), undefined);
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

/**
 * The gate a support door's scrypts go through is its own server's (its accounts door's): taken
 * from the process, it was the gate of the newest server started, so an older server's supporter
 * checks ran past its own gate's limits.
 */
describe('support origin: the password gate is the server\'s own, not the newest server\'s of the process', () => {
  let relay: TestApp;
  let older: TestApp;
  let newer: TestApp;

  beforeAll(async () => {
    relay = await startRelay();
    older = await startOrigin(relay.url, { PAIRGATE_PASSWORD_HASHES_AT_ONCE: '1', PAIRGATE_PASSWORD_HASH_QUEUE: '0', PAIRGATE_RATE_LIMIT_MAX: '100000' });
    newer = await startOrigin(relay.url, { PAIRGATE_RATE_LIMIT_MAX: '100000' });
    // Each accounts door's dummy hash, started with it, is made before the gates are counted or filled.
    await Promise.all([accountsOf({ server: older.app }).prepare(), accountsOf({ server: newer.app }).prepare()]);
  });
  afterAll(async () => {
    await Promise.allSettled([older?.close(), newer?.close(), relay?.close()]);
  });

  it('the older server\'s full gate refuses its supporter checks; the newer server\'s gate is not it', async () => {
    const created = await fetch(`${older.url}/session`, { method: 'POST', headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' }, body: JSON.stringify({ id: 'older', ttl: 600, supporter_name: 'Thorsten', supporter_avatar: 'https://avatars.example/thorsten.png', username: OWN.user, password: OWN.password }) });
    expect(created.status).toBe(201);
    const olderGate = accountsOf({ server: older.app }).parts.hashing;
    const newerGate = accountsOf({ server: newer.app }).parts.hashing;
    let release!: () => void;
    void olderGate.run(() => new Promise<void>((resolve) => (release = resolve)), undefined);
    try {
      const startedOnNewer = newerGate.started;
      const refused = await fetch(`${older.url}/session/older`, { headers: { accept: 'application/json', authorization: basicAuth(OWN.user, OWN.password) } });
      expect(refused.status).toBe(503);
      expect(await refused.json()).toMatchObject({ Code: 'password_hashing_busy' });
      expect(newerGate.started).toBe(startedOnNewer);
    } finally {
      release();
    }
    const startedOnOlder = olderGate.started;
    expect((await fetch(`${older.url}/session/older`, { headers: { accept: 'application/json', authorization: basicAuth(OWN.user, OWN.password) } })).status).toBe(200);
    expect(olderGate.started).toBe(startedOnOlder + 1);
  }, 30_000);
});
