import { describe, expect, it } from 'vitest';
import { hashToken, randomId } from '../../../src/core/ids.js';
import { AppAccesses } from '../../../src/doors/access/app-accesses.js';
import { accessMigrations } from '../../../src/doors/access/migrations.js';
import { accountsMigrations } from '../../../src/doors/accounts/migrations.js';
import { UserStore } from '../../../src/doors/accounts/users.js';
import type { DurableDb } from '../../../src/store/durable-schema.js';
import { coreMigrations } from '../../../src/store/migrations/core.js';
import { deadlocks, holdRows, later, lockWaiters, outcomeOf, RACE_ROUNDS, RACE_SHIFTS, raceRounds } from '../../helpers/lock-races.js';
import { postgresMissing } from '../../helpers/services.js';
import { usePostgresStores } from '../../helpers/sql-store-setups.js';

const skip = await postgresMissing();
const migrations = { ...coreMigrations, ...accountsMigrations, ...accessMigrations };
const NOW = 1_000_000_000;


/**
 * The access door's sweep on PostgreSQL and the writes that delete an account's accesses with
 * their tokens. An account's deletion locks its accesses and then, through their cascade, their
 * tokens; a new password (`revokeAllOf`) locks the tokens and then the accesses. The sweep deleted
 * a batch's tokens and then its accesses, waiting for the rows the others held: against the
 * account's deletion each waited for the other (40P01, the deletion answered 503). It now locks its
 * accesses `FOR UPDATE SKIP LOCKED`, then the tokens no one holds, and leaves an access whose token
 * another transaction holds for the next sweep: it never waits.
 */
describe.skipIf(Boolean(skip))(`access sweep racing an account's deletion and a new password, PostgreSQL${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const { db, url } = usePostgresStores(migrations);

  /**
   * An account with `accesses` ended accesses of `tokens` tokens each (written in order, in one
   * transaction: another round's sweep sees them all or none); its id and the tokens' hashes.
   */
  const accountWithEnded = (accesses: number, tokens: number) => db().transaction().execute(async (trx) => made(trx, accesses, tokens));
  async function made(db: DurableDb, accesses: number, tokens: number): Promise<{ userId: string; hashes: string[] }> {
    const userId = randomId();
    await db.insertInto('users').values({ id: userId, username: userId, email: `${userId}@example.test`, password_hash: 'x', created_at: 0 }).execute();
    const hashes: string[] = [];
    for (let a = 0; a < accesses; a++) {
      const id = randomId();
      await db.insertInto('app_accesses').values({ id, user_id: userId, app_id: `app-${a}`, device_name: '', permissions: '[]', created_at: 0, updated_at: 0, expires_at: NOW - 1 - a }).execute();
      for (let t = 0; t < tokens; t++) {
        const hash = hashToken(randomId());
        await db.insertInto('app_access_tokens').values({ token_hash: hash, access_id: id, created_at: 0, pending: 0 }).execute();
        hashes.push(hash);
      }
    }
    return { userId, hashes };
  }

  const deleteAccount = (userId: string) => new UserStore(db()).delete(userId, async () => {});
  const newPassword = (userId: string) => db().transaction().execute((trx) => AppAccesses.revokeAllOf(trx, userId, NOW));
  const leftOf = async (userId: string) => ({
    accesses: (await db().selectFrom('app_accesses').select('id').where('user_id', '=', userId).execute()).length,
    tokens: (await db().selectFrom('app_access_tokens').innerJoin('app_accesses', 'app_accesses.id', 'app_access_tokens.access_id').select('token_hash').where('app_accesses.user_id', '=', userId).execute()).length,
  });

  const waiting = () => lockWaiters(db());

  it('the deletion held at an access\'s second token: both answer, no deadlock, nothing left', async () => {
    const { userId, hashes } = await accountWithEnded(1, 2);
    const before = await deadlocks(db());
    const holder = await holdRows(url(), 'select token_hash from app_access_tokens where token_hash = $1 for update', [hashes[1]]);
    try {
      let sweepEnded = false;
      const swept = outcomeOf(new AppAccesses(db()).sweep(NOW)).finally(() => {
        sweepEnded = true;
      });
      // Before, the sweep deleted the first token and waited for the second.
      await expect.poll(async () => sweepEnded || (await waiting()) === 1).toBe(true);
      const deleted = outcomeOf(deleteAccount(userId));
      // The deletion holds the access, through its cascade, and waits for a token.
      await expect.poll(async () => (await waiting()) === (sweepEnded ? 1 : 2)).toBe(true);
      await holder.release();
      // Before, the sweep then waited for the access the deletion held, which waited for the first token: a deadlock.
      expect({ swept: await swept, deleted: await deleted, sweepEndedFirst: sweepEnded }).toEqual({ swept: 'done', deleted: 'done', sweepEndedFirst: true });
    } finally {
      await holder.release();
    }
    expect(await leftOf(userId)).toEqual({ accesses: 0, tokens: 0 });
    expect(await deadlocks(db())).toBe(before);
  });

  it('a new password held at an access\'s second token: the sweep skips that access, both answer, no deadlock', async () => {
    const { userId, hashes } = await accountWithEnded(1, 2);
    const before = await deadlocks(db());
    const holder = await holdRows(url(), 'select token_hash from app_access_tokens where token_hash = $1 for update', [hashes[1]]);
    try {
      // The revocation deletes the first token and waits for the second.
      const revoked = outcomeOf(newPassword(userId));
      await expect.poll(waiting).toBe(1);
      // Locking the access and then waiting for the tokens would deadlock once the revocation,
      // holding them, went on to the access: the sweep takes the access and skips the tokens held.
      const sweep = outcomeOf(new AppAccesses(db()).sweep(NOW));
      // Before, the sweep waited for the tokens the revocation held.
      const swept = await Promise.race([sweep, later(3_000).then(() => 'still waiting after 3 s')]);
      await holder.release();
      await sweep;
      expect({ swept, revoked: await revoked }).toEqual({ swept: 'done', revoked: 'done' });
    } finally {
      await holder.release();
    }
    expect(await leftOf(userId)).toEqual({ accesses: 0, tokens: 0 });
    expect(await deadlocks(db())).toBe(before);
  });

  describe.each([
    ['an account\'s deletion', deleteAccount],
    ['a new password', newPassword],
  ] as const)('the sweep racing %s', (_, write) => {
    it(`${RACE_ROUNDS} rounds: both answer, no deadlock, nothing of the account left`, { timeout: 60_000 }, async () => {
      const before = await deadlocks(db());
      const results = await raceRounds(async (i): Promise<{ i: number; swept: string; written: string; left: { accesses: number; tokens: number } }> => {
        const { userId } = await accountWithEnded(4, 5);
        const [swept, written] = await Promise.all([
          outcomeOf(new AppAccesses(db()).sweep(NOW)),
          later(i % RACE_SHIFTS).then(() => outcomeOf(write(userId))),
        ]);
        return { i, swept, written, left: await leftOf(userId) };
      });
      const failed = results.filter((r) => r.swept !== 'done' || r.written !== 'done');
      expect(failed, `${failed.length} of ${RACE_ROUNDS} rounds failed`).toEqual([]);
      for (const r of results) expect(r.left, `round ${r.i}`).toEqual({ accesses: 0, tokens: 0 });
      expect(await deadlocks(db())).toBe(before);
    });
  });

  it('still deletes every ended access with its tokens, and keeps the live ones', async () => {
    await db().deleteFrom('app_accesses').execute();
    const { userId } = await accountWithEnded(3, 2);
    await db().insertInto('app_accesses').values({ id: 'live', user_id: userId, app_id: 'live', device_name: '', permissions: '[]', created_at: 0, updated_at: 0, expires_at: NOW + 1 }).execute();
    await db().insertInto('app_access_tokens').values({ token_hash: 'live-token', access_id: 'live', created_at: 0, pending: 0 }).execute();
    expect(await new AppAccesses(db()).sweep(NOW)).toBe(3);
    expect(await leftOf(userId)).toEqual({ accesses: 1, tokens: 1 });
  });
});
