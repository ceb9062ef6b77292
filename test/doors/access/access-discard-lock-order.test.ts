import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { IllegalTransitionError } from '../../../src/core/grant-machine.js';
import { randomId, randomToken } from '../../../src/core/ids.js';
import type { DoorContext } from '../../../src/doors/door.js';
import type { User } from '../../../src/doors/accounts/users.js';
import type { AccessKey } from '../../../src/doors/access/access-key.js';
import type { AccessGrant, AccessRequest } from '../../../src/doors/access/access-request.js';
import { AppAccesses } from '../../../src/doors/access/app-accesses.js';
import { acceptAccess, checkAccess, type ConsentDeps, type Decided } from '../../../src/doors/access/consent.js';
import { accessMigrations } from '../../../src/doors/access/migrations.js';
import { accountsMigrations } from '../../../src/doors/accounts/migrations.js';
import { coreMigrations } from '../../../src/store/migrations/core.js';
import { deadlocks, holdRows, later, lockWaiters, outcomeOf, RACE_ROUNDS, RACE_SHIFTS, raceRounds } from '../../helpers/lock-races.js';
import { postgresMissing } from '../../helpers/services.js';
import { usePostgresStores } from '../../helpers/sql-store-setups.js';

const skip = await postgresMissing();
const migrations = { ...coreMigrations, ...accountsMigrations, ...accessMigrations };
const NOW = 1_000_000_000;

/**
 * Two accepts of the same app on one account, on PostgreSQL (`acceptAccess`, the door's own code;
 * only the grant engine is a stand-in, which records B's decision and refuses A's). Accept A made
 * the app's access (`create`) for its request, and lost: its request was refused or expired
 * meanwhile, so it withdraws its token and deletes the access unless another token is on it
 * (`discardIfUnused`). Accept B, of a second request of the same app (another tab), found that
 * access and adds its own token to it (`addToken`).
 *
 * - B's token written first, not yet committed, A's delete waiting for the access's row (the
 *   token's foreign key holds it `FOR KEY SHARE`): the delete's `NOT EXISTS` was read before the
 *   token was committed, and PostgreSQL did not read it again (the access itself was not
 *   updated), so the access went, and by its cascade B's token: B answered ACCEPTED with a token
 *   that opens nothing (the app's poll then 404 `unknown_key`). `discardIfUnused` now takes the
 *   access `FOR UPDATE` first, and asks about its tokens in a statement of its own, after.
 * - A's delete first, B's insert having read the access live before it went: B's foreign key
 *   failed (23503), answered 500 `internal_error`. `addToken` now reads it as `ended`, and the
 *   accept looks again and grants a fresh access, as for any access gone meanwhile.
 *
 * The interleavings are forced: a connection of the test's own holds the access's row while both
 * writes queue behind it, in the order the case names.
 */
describe.skipIf(Boolean(skip))(`an accept's token added to an access that a lost accept discards, PostgreSQL${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const { db, url } = usePostgresStores(migrations);
  const clock = new ManualClock(NOW);
  const key: AccessKey = { id: 'key', secret: randomToken(), value: 'key.secret' };
  const signIn = { stillSignedIn: async () => true };

  /** An account of its own. */
  async function newUser(): Promise<User> {
    const id = randomId();
    await db().insertInto('users').values({ id, username: id, email: `${id}@example.test`, password_hash: 'x', created_at: 0 }).execute();
    return { id, username: id, email: `${id}@example.test`, createdAt: 0 };
  }

  /** A pending request of `app-x` for reading `diary`, no end asked. */
  function requestGrant(): AccessGrant {
    const request: AccessRequest = {
      requestingAppId: 'app-x', requestedPermissions: [{ streamId: 'diary', level: 'read' }], lang: 'en', returnURL: null, oauthState: null,
      clientData: null, serviceInfo: {}, deviceName: null, referer: null, expireAfter: null, authBase: 'https://pairgate.test/access/',
      pollBase: 'https://pairgate.test/access/', domain: 'pairgate.test', pollRateMs: 1000,
    };
    return { id: randomId(16), kind: 'access', state: 'pending', codeHash: null, secretHash: null, request, result: null, attempts: 0, version: 1, createdAt: NOW, updatedAt: NOW, expiresAt: NOW + 600_000 };
  }

  /** The consent functions over this database, with `approve` as the engine's (the rest unused here). */
  function depsWith(approve: (id: string, result: unknown) => Promise<unknown>): ConsentDeps {
    return {
      ctx: { clock, engine: { approve }, logger: { error() {} } } as unknown as DoorContext,
      accesses: new AppAccesses(db()),
      maxPerUser: 100,
      apiEndpoint: (username, token) => `https://pairgate.test/${username}/?token=${token}`,
    };
  }

  /** What an accept ended with: its token when ACCEPTED, else what `outcomeOf` says of its error. */
  async function acceptedToken(accept: Promise<Decided>): Promise<{ token: string } | string> {
    try {
      const { outcome } = await accept;
      return outcome.status === 'ACCEPTED' ? { token: outcome.token } : outcome.status;
    } catch (error) {
      return outcomeOf(Promise.reject(error));
    }
  }

  /** The access of `app-x` the user holds, if any. */
  const accessOf = async (user: User) => new AppAccesses(db()).findForApp(user.id, 'app-x', null);

  /**
   * Accept A under way: it has made the access and waits for its decision, which `lose()` then
   * refuses (A withdraws: its token, then the access unless another token is on it).
   */
  async function losingAccept(user: User): Promise<{ accessId: string; lose(): void; answered: Promise<string> }> {
    let lose = () => {};
    const refused = new Promise<void>((resolve) => { lose = resolve; });
    const grant = requestGrant();
    const deps = depsWith(async () => {
      await refused;
      throw new IllegalTransitionError('approve', 'refused');
    });
    const answered = outcomeOf(acceptAccess(deps, grant, key, user, await checkAccess(deps, user, grant.request), signIn));
    await expect.poll(accessOf.bind(null, user)).toBeDefined();
    return { accessId: (await accessOf(user))!.id, lose, answered };
  }

  /** Accept B, of a second request of the same app: it finds A's access (matching) and adds its token to it. */
  async function winningAccept(user: User, accessId: string): Promise<{ answered: Promise<{ token: string } | string> }> {
    const grant = requestGrant();
    const deps = depsWith(async (_, result) => ({ ...grant, state: 'approved', result }));
    const check = await checkAccess(deps, user, grant.request);
    expect(check.matchingAccess?.id).toBe(accessId);
    return { answered: acceptedToken(acceptAccess(deps, grant, key, user, check, signIn)) };
  }

  /** The access `token` opens now, if any. */
  const opened = async (token: string) => (await new AppAccesses(db()).findByToken(token, NOW))?.access.id;

  it('forced: B\'s token written first, A\'s discard waiting for the access: the access stays, B\'s token opens it', async () => {
    const user = await newUser();
    const before = await deadlocks(db());
    const a = await losingAccept(user);
    const holder = await holdRows(url(), 'select id from app_accesses where id = $1 for update', [a.accessId]);
    try {
      // B's token is inserted, its foreign key waiting for the access's row.
      const b = await winningAccept(user, a.accessId);
      await expect.poll(() => lockWaiters(db())).toBe(1);
      // A loses: its token goes (no wait), then its discard waits for the access, behind B.
      a.lose();
      await expect.poll(() => lockWaiters(db())).toBe(2);
      await holder.release();
      expect(await a.answered).toBe('grant_refused');
      const won = await b.answered;
      expect(won).toEqual({ token: expect.any(String) });
      // Before, the discard deleted the access after B committed, and B's token with it.
      expect(await opened((won as { token: string }).token)).toBe(a.accessId);
    } finally {
      await holder.release();
    }
    expect(await deadlocks(db())).toBe(before);
  });

  it('forced: A\'s discard first, B\'s token waiting at its foreign key: B looks again and is ACCEPTED on a fresh access, no 500', async () => {
    const user = await newUser();
    const before = await deadlocks(db());
    const a = await losingAccept(user);
    const holder = await holdRows(url(), 'select id from app_accesses where id = $1 for update', [a.accessId]);
    try {
      a.lose();
      await expect.poll(() => lockWaiters(db())).toBe(1);
      // B read the access live; its token's foreign key waits for the row, behind A's discard.
      const b = await winningAccept(user, a.accessId);
      await expect.poll(() => lockWaiters(db())).toBe(2);
      await holder.release();
      expect(await a.answered).toBe('grant_refused');
      // Before, the foreign key's failure (23503) went up: 500 internal_error.
      const won = await b.answered;
      expect(won).toEqual({ token: expect.any(String) });
      const fresh = await accessOf(user);
      expect(fresh?.id).not.toBe(a.accessId);
      expect(await opened((won as { token: string }).token)).toBe(fresh!.id);
    } finally {
      await holder.release();
    }
    expect(await deadlocks(db())).toBe(before);
  });

  it(`${RACE_ROUNDS} rounds of discardIfUnused against addToken: the token opens its access, or it is 'ended' and the access gone; never a 5xx`, { timeout: 60_000 }, async () => {
    const before = await deadlocks(db());
    const results = await raceRounds(async (i): Promise<{ i: number; discarded: string; added: string; opens: boolean | null; left: number }> => {
      const user = await newUser();
      const accessId = randomId();
      await db().insertInto('app_accesses').values({ id: accessId, user_id: user.id, app_id: 'app-x', device_name: '', permissions: '[]', created_at: 0, updated_at: 0, expires_at: null }).execute();
      const accesses = new AppAccesses(db());
      let token: string | undefined;
      const [discarded, added] = await Promise.all([
        outcomeOf(accesses.discardIfUnused(accessId)),
        later(i % RACE_SHIFTS).then(() => outcomeOf(accesses.addToken(accessId, NOW).then((t) => { token = t; }))),
      ]);
      const left = (await db().selectFrom('app_accesses').select('id').where('id', '=', accessId).execute()).length;
      return { i, discarded, added: added === 'done' ? (token === 'ended' ? 'ended' : 'token') : added, opens: token && token !== 'ended' ? (await opened(token)) === accessId : null, left };
    });
    // A token that opens its access, or 'ended' with the access gone: nothing else.
    const wrong = results.filter((r) => r.discarded !== 'done' || (r.added === 'token' ? !(r.opens && r.left === 1) : !(r.added === 'ended' && r.left === 0)));
    expect(wrong, `${wrong.length} of ${RACE_ROUNDS} rounds went wrong`).toEqual([]);
    expect(await deadlocks(db())).toBe(before);
  });
});
