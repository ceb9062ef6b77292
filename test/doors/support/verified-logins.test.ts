import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { accountsOf } from '../../../src/doors/accounts/accounts.js';
import type { PasswordHashing } from '../../../src/doors/accounts/password-hashing.js';
import { VERIFIED_LOGIN_TTL_MS, VerifiedLogins } from '../../../src/doors/support/verified-logins.js';
import type { TestApp } from '../../helpers/app.js';
import { postgresMissing } from '../../helpers/services.js';
import { ADMIN_AUTH, basicAuth, startOrigin, startRelay, useTwoOriginNodes } from './helpers.js';

const AVATAR = 'https://avatars.example/thorsten.png';
const OWN = { user: 'poll-helper', password: 'right-pass' };
const pgMissing = await postgresMissing();

/** The scrypts `gate` ran while `work` ran (its places taken: refused ones are not counted). */
async function scryptsOf(gate: PasswordHashing, work: () => Promise<unknown>): Promise<number> {
  const before = gate.started;
  await work();
  return gate.started - before;
}

function createSession(origin: TestApp, id: string, password = OWN.password): Promise<Response> {
  return fetch(`${origin.url}/session`, {
    method: 'POST',
    headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
    body: JSON.stringify({ id, ttl: 600, supporter_name: 'Thorsten', supporter_avatar: AVATAR, username: OWN.user, password }),
  });
}

/** `GET /session/:id` with the session's login name and `password`: its status. */
async function poll(origin: TestApp, id: string, password: string): Promise<number> {
  const answer = await fetch(`${origin.url}/session/${id}`, { headers: { accept: 'application/json', authorization: basicAuth(OWN.user, password) } });
  await answer.arrayBuffer();
  return answer.status;
}

/**
 * A supporter tool polls `GET /session/:id` with the session's own login: each poll ran one scrypt
 * (16 MiB and a place of the node's password gate, shared with sign-ins). A login verified is
 * taken as verified for a minute; nothing else is, and a changed login is not.
 */
describe('support origin: a session\'s own login verified is not checked with scrypt again for a minute', () => {
  let relay: TestApp;
  let origin: TestApp;
  let gate: PasswordHashing;
  const clock = new ManualClock(Date.now());

  beforeAll(async () => {
    relay = await startRelay();
    origin = await startOrigin(relay.url, { PAIRGATE_RATE_LIMIT_MAX: '100000', PAIRGATE_SUPPORT_AUTH_FAILURES_PER_IP: '1000', PAIRGATE_SUPPORT_AUTH_FAILURES_PER_SESSION: '3' }, { clock });
    gate = accountsOf({ server: origin.app }).parts.hashing;
    // The accounts' dummy hash, started with the server, is made before the gate's hashes are counted.
    await accountsOf({ server: origin.app }).prepare();
  });
  afterAll(async () => {
    await origin?.close();
    await relay?.close();
  });

  it('repeated polls with the right password run one scrypt; after a minute, one more', async () => {
    expect((await createSession(origin, 'polled')).status).toBe(201);
    expect(await scryptsOf(gate, async () => {
      for (let i = 0; i < 5; i++) expect(await poll(origin, 'polled', OWN.password)).toBe(200);
    })).toBe(1);
    clock.advance(VERIFIED_LOGIN_TTL_MS + 1);
    expect(await scryptsOf(gate, async () => {
      for (let i = 0; i < 3; i++) expect(await poll(origin, 'polled', OWN.password)).toBe(200);
    })).toBe(1);
  });

  it('a wrong password is never served from the cache: each costs its scrypt and counts as a failure', async () => {
    expect((await createSession(origin, 'guessed')).status).toBe(201);
    expect(await poll(origin, 'guessed', OWN.password)).toBe(200); // verified and kept
    expect(await scryptsOf(gate, async () => {
      for (const password of ['wrong', 'wrong', `${OWN.password} `]) expect(await poll(origin, 'guessed', password)).toBe(401);
    })).toBe(3);
    // The session's budget (3) is spent: refused before any scrypt or look-up of a verified login,
    // the right password too.
    expect(await scryptsOf(gate, async () => expect(await poll(origin, 'guessed', OWN.password)).toBe(429))).toBe(0);
  });

  it('a session created again under its id with another password: the old one is refused at once, the new one works', async () => {
    expect((await createSession(origin, 'renewed')).status).toBe(201);
    expect(await poll(origin, 'renewed', OWN.password)).toBe(200);
    expect(await poll(origin, 'renewed', OWN.password)).toBe(200);
    expect((await fetch(`${origin.url}/session/renewed`, { method: 'DELETE', headers: { authorization: ADMIN_AUTH } })).status).toBe(204);
    // Removed: the login is no more, cache or not.
    expect(await poll(origin, 'renewed', OWN.password)).toBe(401);
    expect((await createSession(origin, 'renewed', 'new-pass')).status).toBe(201);
    expect(await poll(origin, 'renewed', OWN.password)).toBe(401);
    expect(await poll(origin, 'renewed', 'new-pass')).toBe(200);
  });
});

/**
 * A node keeps the logins it verified; another node may remove the session and create it again
 * with another password. The first must refuse the old password at once, with no message between
 * them: the session's stored hash is part of what was verified.
 */
describe.skipIf(pgMissing)('support origin: a login changed on another node is refused at once', () => {
  const nodes = useTwoOriginNodes(false, { PAIRGATE_RATE_LIMIT_MAX: '100000' });

  it('verified on A, recreated on B with another password: A refuses the old one', async () => {
    expect((await createSession(nodes.a, 'moved')).status).toBe(201);
    expect(await poll(nodes.a, 'moved', OWN.password)).toBe(200);
    expect((await fetch(`${nodes.b.url}/session/moved`, { method: 'DELETE', headers: { authorization: ADMIN_AUTH } })).status).toBe(204);
    expect((await createSession(nodes.b, 'moved', 'new-pass')).status).toBe(201);
    expect(await poll(nodes.a, 'moved', OWN.password)).toBe(401);
    expect(await poll(nodes.a, 'moved', 'new-pass')).toBe(200);
  }, 30_000);
});

describe('VerifiedLogins', () => {
  const claim = (n: number) => ({ sessionGrantId: `support-session:s${n}`, username: 'joe', passwordHash: `scrypt$salt${n}$hash${n}` });

  it('holds at most its size, the oldest evicted first', () => {
    const logins = new VerifiedLogins(new ManualClock(), 60_000, 2);
    logins.remember(claim(1), 'p');
    logins.remember(claim(2), 'p');
    logins.remember(claim(3), 'p');
    expect(logins.size).toBe(2);
    expect(logins.has(claim(1), 'p')).toBe(false);
    expect(logins.has(claim(2), 'p')).toBe(true);
    expect(logins.has(claim(3), 'p')).toBe(true);
  });

  it('finds only the same session, name, stored hash and password; forgets a session', () => {
    const logins = new VerifiedLogins(new ManualClock());
    logins.remember(claim(1), 'p');
    expect(logins.has(claim(1), 'p')).toBe(true);
    expect(logins.has(claim(1), 'q')).toBe(false);
    expect(logins.has({ ...claim(1), username: 'jo' }, 'ep')).toBe(false);
    expect(logins.has({ ...claim(1), passwordHash: 'scrypt$other$hash' }, 'p')).toBe(false);
    expect(logins.has({ ...claim(1), sessionGrantId: 'support-session:s9' }, 'p')).toBe(false);
    logins.forgetSession(claim(1).sessionGrantId);
    expect(logins.has(claim(1), 'p')).toBe(false);
  });

  it('holds neither the password nor a plain hash of it', () => {
    const logins = new VerifiedLogins(new ManualClock());
    logins.remember(claim(1), 'a-very-recognisable-password');
    const held = JSON.stringify([...(logins as unknown as { entries: Map<string, unknown> }).entries]);
    expect(held).not.toContain('a-very-recognisable-password');
    expect(held).not.toContain(Buffer.from('a-very-recognisable-password').toString('base64url'));
  });
});
