import { describe, expect, it } from 'vitest';
import { hashToken, randomId } from '../../../src/core/ids.js';
import { AppAccesses, MAX_TOKENS_PER_ACCESS } from '../../../src/doors/access/app-accesses.js';
import { accessMigrations } from '../../../src/doors/access/migrations.js';
import { accountsMigrations } from '../../../src/doors/accounts/migrations.js';
import { UserStore } from '../../../src/doors/accounts/users.js';
import { coreMigrations } from '../../../src/store/migrations/core.js';
import { deadlocks, heldInterleaving, later, outcomeOf, RACE_ROUNDS, RACE_SHIFTS, raceRounds } from '../../helpers/lock-races.js';
import { postgresMissing } from '../../helpers/services.js';
import { usePostgresStores } from '../../helpers/sql-store-setups.js';

const skip = await postgresMissing();
const migrations = { ...coreMigrations, ...accountsMigrations, ...accessMigrations };
const NOW = 1_000_000_000;

/** An account with one access and its tokens' hashes, oldest first (written in that order). */
interface OneAccess {
  userId: string;
  accessId: string;
  hashes: string[];
}

/**
 * The access door's writes that delete an access's tokens, on PostgreSQL. `revoke` and a new
 * password (`revokeAllOf`) deleted the tokens and then the access; `renew` updates the access and
 * then deletes its tokens, an account's deletion deletes the access and then (cascade) its tokens,
 * and `settle` updates its token and then deletes the access's oldest beyond the cap. Each pair
 * could hold what the other waited for (40P01, one of them answered 503 `store_conflict`). Every
 * one of them now takes the access's row first (`FOR UPDATE`, or `FOR SHARE` for `settle`), so the
 * second waits for the first at the access, before it holds any token.
 */
describe.skipIf(Boolean(skip))(`access revocation racing a renewal, an account's deletion and a settling, PostgreSQL${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const { db, url } = usePostgresStores(migrations);

  /** An account with one access of `tokens` settled tokens (and a pending one with `pending`), ended at `expiresAt`. */
  async function oneAccess(tokens: number, expiresAt: number | null, pending = false): Promise<OneAccess> {
    return db().transaction().execute(async (trx) => {
      const userId = randomId();
      const accessId = randomId();
      await trx.insertInto('users').values({ id: userId, username: userId, email: `${userId}@example.test`, password_hash: 'x', created_at: 0 }).execute();
      await trx.insertInto('app_accesses').values({ id: accessId, user_id: userId, app_id: 'app', device_name: '', permissions: '[]', created_at: 0, updated_at: 0, expires_at: expiresAt }).execute();
      const hashes: string[] = [];
      for (let t = 0; t < tokens + (pending ? 1 : 0); t++) {
        const hash = hashToken(randomId());
        await trx.insertInto('app_access_tokens').values({ token_hash: hash, access_id: accessId, created_at: NOW - 1_000 + t, pending: t < tokens ? 0 : 1 }).execute();
        hashes.push(hash);
      }
      return { userId, accessId, hashes };
    });
  }

  const revoke = (a: OneAccess) => new AppAccesses(db()).revoke(a.userId, a.accessId);
  /** A new password, as the accounts door writes it: the user's row, then the accesses' revocation in the same transaction. */
  const newPassword = (a: OneAccess) => new UserStore(db()).setPasswordHashAnd(a.userId, 'y', (trx) => AppAccesses.revokeAllOf(trx, a.userId, NOW));
  const renew = (a: OneAccess) => new AppAccesses(db()).renew({ id: a.accessId, userId: a.userId }, [], null, NOW, { maxLive: 100 });
  const deleteAccount = (a: OneAccess) => new UserStore(db()).delete(a.userId, async () => {});
  const settleNewest = (a: OneAccess) => new AppAccesses(db()).settle(a.accessId, a.hashes.at(-1)!, NOW);

  const leftOf = async (a: OneAccess) => ({
    accesses: (await db().selectFrom('app_accesses').select('id').where('id', '=', a.accessId).execute()).length,
    tokens: (await db().selectFrom('app_access_tokens').select('token_hash').where('access_id', '=', a.accessId).execute()).length,
  });

  describe.each([
    ['revoke', 'a renewal', revoke, renew],
    ['revoke', 'an account\'s deletion', revoke, deleteAccount],
    ['a new password', 'a renewal', newPassword, renew],
  ] as const)('%s racing %s', (_, __, revoking, other) => {
    it('forced: the revocation held at the access\'s last token, the other write started: both answer, no deadlock, nothing left', async () => {
      const a = await oneAccess(2, NOW - 1);
      const before = await deadlocks(db());
      // Holding the last token, the revocation is stopped with the tokens before it deleted (and,
      // now, the access held). Before, the other write took the access and then waited for the
      // first token, which the revocation held; let go, the revocation then waited for the access:
      // a deadlock, one of them answered 503.
      const { first: revoked, second: written } = await heldInterleaving(db(), url(), { query: 'select token_hash from app_access_tokens where token_hash = $1 for update', params: [a.hashes[1]] }, () => revoking(a), () => other(a));
      expect({ revoked, written }).toEqual({ revoked: 'done', written: 'done' });
      expect(await leftOf(a)).toEqual({ accesses: 0, tokens: 0 });
      expect(await deadlocks(db())).toBe(before);
    });

    it(`${RACE_ROUNDS} rounds: both answer, no deadlock`, { timeout: 60_000 }, async () => {
      const before = await deadlocks(db());
      const results = await raceRounds(async (i): Promise<{ i: number; revoked: string; written: string }> => {
        const a = await oneAccess(MAX_TOKENS_PER_ACCESS, NOW - 1);
        const [revoked, written] = await Promise.all([
          outcomeOf(revoking(a)),
          later(i % RACE_SHIFTS).then(() => outcomeOf(other(a))),
        ]);
        return { i, revoked, written };
      });
      const failed = results.filter((r) => r.revoked !== 'done' || r.written !== 'done');
      expect(failed, `${failed.length} of ${RACE_ROUNDS} rounds failed`).toEqual([]);
      expect(await deadlocks(db())).toBe(before);
    });
  });

  describe('revoke racing the settling of a token past the cap', () => {
    it('forced: the revocation held at the oldest token, the settling started: both answer, no deadlock, nothing left', async () => {
      // At the cap, settling the pending (newest) token deletes the oldest.
      const a = await oneAccess(MAX_TOKENS_PER_ACCESS, null, true);
      const before = await deadlocks(db());
      // Before, the settling took the newest token and then waited for the oldest, behind the
      // revocation; let go, the revocation took the oldest and went on to the newest, which the
      // settling held: a deadlock.
      const { first: revoked, second: settled } = await heldInterleaving(db(), url(), { query: 'select token_hash from app_access_tokens where token_hash = $1 for update', params: [a.hashes[0]] }, () => revoke(a), () => settleNewest(a));
      expect({ revoked, settled }).toEqual({ revoked: 'done', settled: 'done' });
      expect(await leftOf(a)).toEqual({ accesses: 0, tokens: 0 });
      expect(await deadlocks(db())).toBe(before);
    });

    it(`${RACE_ROUNDS} rounds: both answer, no deadlock, nothing left`, { timeout: 60_000 }, async () => {
      const before = await deadlocks(db());
      const results = await raceRounds(async (i): Promise<{ i: number; revoked: string; settled: string; left: { accesses: number; tokens: number } }> => {
        const a = await oneAccess(MAX_TOKENS_PER_ACCESS, null, true);
        const [revoked, settled] = await Promise.all([
          outcomeOf(revoke(a)),
          later(i % RACE_SHIFTS).then(() => outcomeOf(settleNewest(a))),
        ]);
        return { i, revoked, settled, left: await leftOf(a) };
      });
      const failed = results.filter((r) => r.revoked !== 'done' || r.settled !== 'done');
      expect(failed, `${failed.length} of ${RACE_ROUNDS} rounds failed`).toEqual([]);
      for (const r of results) expect(r.left, `round ${r.i}`).toEqual({ accesses: 0, tokens: 0 });
      expect(await deadlocks(db())).toBe(before);
    });
  });
});
