import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { hashToken, randomId, randomToken } from '../../../src/core/ids.js';
import { accountsOf } from '../../../src/doors/accounts/accounts.js';
import { accountsDoor } from '../../../src/doors/accounts/accounts-door.js';
import { accountsConfigSchema, sessionIdleSeconds } from '../../../src/doors/accounts/config.js';
import { DEVICE_COOKIE_PATHS } from '../../../src/doors/accounts/device-cookies.js';
import { allDoors } from '../../../src/doors/index.js';
import { configSection, loadConfig } from '../../../src/server/config.js';
import { allMigrations } from '../../../src/server/open-stores.js';
import { checkConfig } from '../../../src/server/start.js';
import type { MigrationSet } from '../../../src/store/durable-schema.js';
import { openPostgresStores } from '../../../src/store/postgres/postgres-stores.js';
import { openSqliteStores } from '../../../src/store/sqlite/sqlite-stores.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { createTestDatabase, postgresMissing } from '../../helpers/services.js';
import { FormClient } from '../access/form-client.js';

const IDLE_SECONDS = 3600;
const IDLE_MS = IDLE_SECONDS * 1000;
const MIGRATION = '2026120700_accounts_session_last_seen';
const ENDED = 'Your session has ended';

/**
 * The migrations of this version named before the one that adds `last_seen_at`: the schema before
 * it (not every other migration: a later one may build on the column, as its sweep's index does).
 */
function migrationsBefore(): MigrationSet {
  const all = allMigrations(allDoors);
  expect(all[MIGRATION]).toBeDefined();
  return Object.fromEntries(Object.entries(all).filter(([name]) => name < MIGRATION));
}

/** A session written as the earlier schema had it: no `last_seen_at`; signed in three days ago, lives four more. */
async function writeOldSession(db: Kysely<unknown>): Promise<string> {
  const token = randomToken();
  const userId = randomId();
  const now = Date.now();
  const old = db as Kysely<any>;
  await old.insertInto('users').values({ id: userId, username: 'before-upgrade', email: 'before-upgrade@example.test', password_hash: 'not a hash anyone signs in with', created_at: now - 3 * 86_400_000 }).execute();
  await old.insertInto('account_sessions').values({ token_hash: hashToken(token), user_id: userId, created_at: now - 3 * 86_400_000, expires_at: now + 4 * 86_400_000 }).execute();
  return token;
}

const pgSkip = await postgresMissing();

/**
 * Where the server's tables are: made at the schema before `last_seen_at`, holding a session of
 * that time, then opened by the server (which migrates them). `env`: the server's settings for it.
 */
const setups: { name: string; skip?: string; prepare(): Promise<{ env: Record<string, string>; oldToken: string; drop(): Promise<void> }> }[] = [
  {
    name: 'SQLite',
    async prepare() {
      const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-test-'));
      const stores = await openSqliteStores({ dataDir, migrations: migrationsBefore() });
      const oldToken = await writeOldSession(stores.db as Kysely<unknown>);
      await stores.close();
      return { env: { PAIRGATE_DATA_DIR: dataDir }, oldToken, drop: async () => rmSync(dataDir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'PostgreSQL',
    ...(pgSkip ? { skip: pgSkip } : {}),
    async prepare() {
      const database = await createTestDatabase();
      const stores = await openPostgresStores({ url: database.url, migrations: migrationsBefore() });
      const oldToken = await writeOldSession(stores.db as Kysely<unknown>);
      await stores.close();
      return { env: { PAIRGATE_DATABASE_URL: database.url }, oldToken, drop: () => database.drop() };
    },
  },
];

/**
 * Sessions lived their whole lifetime (a week) however long they went unused: a browser left signed
 * in on a shared computer stayed so for days. Now one unused for PAIRGATE_SESSION_IDLE_SECONDS ends.
 */
for (const setup of setups) describe.skipIf(Boolean(setup.skip))(`sessions unused for the idle time end, on ${setup.name} (real sockets, manual clock)`, () => {
  let t: TestApp;
  let base: string;
  let clock: ManualClock;
  let oldToken: string;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const prepared = await setup.prepare();
    ({ oldToken, drop } = prepared);
    clock = new ManualClock(Date.now());
    t = await createTestApp({ ...prepared.env, PAIRGATE_SCRYPT_COST: '10', PAIRGATE_SESSION_IDLE_SECONDS: String(IDLE_SECONDS) }, { clock });
    base = await t.listen();
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await drop?.();
  });

  const db = () => t.app.pairgate.stores.db;
  const sessionOf = async (username: string) => {
    const user = await db().selectFrom('users').select('id').where('username', '=', username).executeTakeFirstOrThrow();
    return db().selectFrom('account_sessions').select(['last_seen_at', 'expires_at']).where('user_id', '=', user.id).execute();
  };
  const lastSeenOf = async (username: string) => {
    const rows = await sessionOf(username);
    expect(rows).toHaveLength(1);
    return Number(rows[0]!.last_seen_at);
  };
  const signedIn = async (browser: FormClient) => (await browser.get('/account/password')).status === 200;

  it('keeps a session opened before the upgrade (its last use unknown, taken as the migration\'s time): still signed in, then ended by the idle time', async () => {
    const browser = new FormClient(base);
    browser.cookies.set('pg_session', oldToken);
    // Signed in three days ago: read as last used then, it would have ended at the upgrade.
    expect(await signedIn(browser)).toBe(true);
    clock.advance(IDLE_MS + 1000);
    expect(await signedIn(browser)).toBe(false);
  });

  it('a session unused for the idle time is no longer signed in: the page sends to the sign-in page, which says the session ended', async () => {
    const browser = new FormClient(base);
    await browser.register('left-signed-in');
    expect(await signedIn(browser)).toBe(true);
    // Its lifetime (a week) is far from over when it ends.
    expect(Number((await sessionOf('left-signed-in'))[0]?.expires_at)).toBeGreaterThan(clock.now() + 2 * IDLE_MS);
    clock.advance(IDLE_MS + 1000);
    const page = await browser.get('/account/password');
    expect(page.status).toBe(303);
    expect(page.location).toMatch(/^\/account\/signin\?next=/);
    const signIn = await browser.get(page.location!);
    expect(signIn.status).toBe(200);
    expect(signIn.text).toContain(ENDED);
  });

  it('a session in use lives on past the idle time from its start, until unused for the idle time; its cookie is not set again', async () => {
    const browser = new FormClient(base);
    await browser.register('kept-busy');
    const start = clock.now();
    for (let i = 0; i < 4; i++) {
      clock.advance(40 * 60_000);
      const page = await browser.get('/account/password');
      expect(page.status).toBe(200);
      // The server decides: the cookie keeps the lifetime's Max-Age from the sign-in.
      expect(page.headers.getSetCookie().filter((line) => line.startsWith('pg_session='))).toEqual([]);
    }
    expect(clock.now() - start).toBeGreaterThan(2 * IDLE_MS);
    expect(await lastSeenOf('kept-busy')).toBe(clock.now());
    clock.advance(IDLE_MS - 1000);
    expect(await signedIn(browser)).toBe(true);
    clock.advance(IDLE_MS);
    expect(await signedIn(browser)).toBe(false);
  });

  it('writes a session\'s last use at most once a minute, however many pages it loads', async () => {
    const browser = new FormClient(base);
    await browser.register('many-pages');
    const signedInAt = await lastSeenOf('many-pages');
    const seen: number[] = [];
    // Twelve pages ten seconds apart, each reading the session more than once (handler and layout).
    for (let i = 0; i < 12; i++) {
      clock.advance(10_000);
      expect((await browser.get(i % 2 ? '/account/password' : '/account/accesses')).status).toBe(200);
      seen.push(await lastSeenOf('many-pages'));
    }
    const writes = seen.filter((value, i) => value !== (i === 0 ? signedInAt : seen[i - 1]));
    expect(writes).toEqual([signedInAt + 60_000, signedInAt + 120_000]);
  });

  it('the sweep deletes the sessions unused for the idle time, and keeps those in use', async () => {
    const idle = new FormClient(base);
    await idle.register('swept-idle');
    const busy = new FormClient(base);
    await busy.register('swept-busy');
    clock.advance(IDLE_MS * 2 / 3);
    expect(await signedIn(busy)).toBe(true);
    clock.advance(IDLE_MS * 2 / 3);
    await accountsOf({ server: t.app }).parts.sessions.sweep(clock.now());
    expect(await sessionOf('swept-idle')).toEqual([]);
    expect(await sessionOf('swept-busy')).toHaveLength(1);
    expect(await signedIn(busy)).toBe(true);
  });
});

describe('PAIRGATE_SESSION_IDLE_SECONDS', () => {
  const load = (env: Record<string, string>) => loadConfig([accountsDoor.configSchema!], { env });
  const idleOf = (env: Record<string, string>) => sessionIdleSeconds(configSection(load(env), accountsConfigSchema));

  it('refuses at start-up an idle time longer than the sessions\' lifetime, naming both keys', () => {
    expect(() => checkConfig(load({ PAIRGATE_SESSION_TTL_SECONDS: '3600', PAIRGATE_SESSION_IDLE_SECONDS: '7200' }), [accountsDoor]))
      .toThrow(/^PAIRGATE_SESSION_IDLE_SECONDS: 7200 s is longer than a session lives \(PAIRGATE_SESSION_TTL_SECONDS, 3600 s\)/);
    expect(() => checkConfig(load({ PAIRGATE_SESSION_TTL_SECONDS: '3600', PAIRGATE_SESSION_IDLE_SECONDS: '3600' }), [accountsDoor])).not.toThrow();
    expect(() => load({ PAIRGATE_SESSION_IDLE_SECONDS: '59' })).toThrow(/PAIRGATE_SESSION_IDLE_SECONDS/);
  });

  it('is a day by default, or the lifetime when that is shorter (a short lifetime set alone still starts)', () => {
    expect(idleOf({})).toBe(86400);
    expect(idleOf({ PAIRGATE_SESSION_IDLE_SECONDS: '900' })).toBe(900);
    expect(() => checkConfig(load({ PAIRGATE_SESSION_TTL_SECONDS: '3600' }), [accountsDoor])).not.toThrow();
    expect(idleOf({ PAIRGATE_SESSION_TTL_SECONDS: '3600' })).toBe(3600);
  });
});

/**
 * A password change proves the password as a sign-in does, but gave no device cookie: a browser
 * that had signed in without one stayed untrusted until its next sign-in, and was locked out with
 * everyone else when guesses from elsewhere spent the account's budget.
 */
describe('a password change gives the browser a device cookie, as a sign-in does', () => {
  let t: TestApp;
  let base: string;
  let nextAddress = 1;
  const newBrowser = () => new FormClient(base, { 'x-forwarded-for': `10.48.0.${nextAddress++}` });
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_SCRYPT_COST: '10', PAIRGATE_TRUST_PROXY: '127.0.0.1', PAIRGATE_SIGNIN_FAILURES_PER_ACCOUNT: '3', PAIRGATE_SIGNIN_FAILURES_PER_IP: '100' });
    base = await t.listen();
  });
  afterAll(() => t.close());

  it('sets it for every path it is sent to, and it lets the browser past the account\'s spent budget', async () => {
    const laptop = newBrowser();
    await laptop.register('changed-here', 'the first password');
    // Signed in without one (before device cookies, or cleared since).
    laptop.cookies.delete('pg_device');
    await laptop.get('/account/password');
    const changed = await laptop.post('/account/password', { current: 'the first password', password: 'the second password' });
    expect(changed.status).toBe(200);
    const paths = changed.headers.getSetCookie().filter((line) => line.startsWith('pg_device=')).map((line) => /Path=([^;]+)/i.exec(line)?.[1]);
    expect(paths).toEqual([...DEVICE_COOKIE_PATHS]);
    expect(laptop.cookies.get('pg_device')).toBeDefined();

    // Guesses from other networks spend the account's budget: anyone else is refused.
    for (let i = 0; i < 3; i++) expect((await newBrowser().signIn('changed-here', `a guess ${i}`)).status).toBe(401);
    expect((await newBrowser().signIn('changed-here', 'the second password')).status).toBe(429);
    expect((await laptop.signIn('changed-here', 'the second password')).status).toBe(303);
  });

  it('a change refused gives none', async () => {
    const laptop = newBrowser();
    await laptop.register('refused-here', 'the first password');
    laptop.cookies.delete('pg_device');
    await laptop.get('/account/password');
    const refused = await laptop.post('/account/password', { current: 'not the password', password: 'the second password' });
    expect(refused.status).toBe(401);
    expect(refused.headers.getSetCookie().filter((line) => line.startsWith('pg_device='))).toEqual([]);
  });
});
