import { hashToken, randomId, randomToken } from '../../core/ids.js';
import type { ExpressionBuilder, SelectQueryBuilder } from 'kysely';
import type { Database, DurableDb } from '../../store/durable-schema.js';
import { advisoryXactLock, needsAdvisoryLocks, supportsRowLocks } from '../../store/sql/advisory-lock.js';
import { inBatches } from '../../store/sql/batched-delete.js';
import type { AppAccessRow } from './access-rows.js';
import type { Permission } from './permissions.js';
import './access-rows.js';
import '../accounts/account-rows.js';

/** An app's access to a user's account. */
export interface AppAccess {
  id: string;
  userId: string;
  appId: string;
  deviceName: string | null;
  permissions: Permission[];
  createdAt: number;
  updatedAt: number;
  expiresAt: number | null;
}

/**
 * An access as the user's list shows it: with how many tokens it holds (one per sign-in of the app,
 * at most `MAX_TOKENS_PER_ACCESS` settled ones) and when the newest was made (null with none).
 */
export interface ListedAccess extends AppAccess {
  signIns: number;
  lastSignInAt: number | null;
}

/** What a token opens: the access and the username it belongs to. */
export interface TokenAccess {
  access: AppAccess;
  username: string;
  tokenCreatedAt: number;
}

function toAccess(row: AppAccessRow): AppAccess {
  return {
    id: row.id,
    userId: row.user_id,
    appId: row.app_id,
    deviceName: row.device_name === '' ? null : row.device_name,
    permissions: JSON.parse(row.permissions) as Permission[],
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
  };
}

/** The accesses that have not ended at `now` (no end, or one after it). */
function live(now: number) {
  return (eb: ExpressionBuilder<Database, 'app_accesses'>) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]);
}

/** How many live accesses the user holds at `now` (what PAIRGATE_ACCESS_MAX_PER_USER bounds), read through `db`. */
async function countLive(db: DurableDb, userId: string, now: number): Promise<number> {
  const row = await db.selectFrom('app_accesses').select((eb) => eb.fn.countAll<number | string>().as('n')).where('user_id', '=', userId).where(live(now)).executeTakeFirst();
  return Number(row?.n ?? 0);
}

/**
 * Locks the accesses `query` (a query on `trx`) names before a write touches their tokens, in id order
 * (PostgreSQL: `FOR UPDATE`, or `FOR SHARE` with `share`), and reads their ids. Every write that
 * deletes or changes existing tokens takes their access's row first, as an account's deletion does
 * (the accesses, then by their cascade the tokens) and `renew` does (it updates the access, then
 * deletes its tokens). Deleting the tokens first, `revoke` and `revokeAllOf` held what those
 * waited for while waiting for the access they held (40P01, answered 503 `store_conflict`); taken
 * first, the second of two writes waits at the access, holding no token. SQLite has no such
 * clause and needs none (`supportsRowLocks`): its transactions are serial.
 */
async function lockAccesses(trx: DurableDb, query: SelectQueryBuilder<Database, 'app_accesses', { id: string }>, share = false): Promise<string[]> {
  let locking = query.orderBy('id');
  if (supportsRowLocks(trx)) locking = share ? locking.forShare() : locking.forUpdate();
  return (await locking.execute()).map((row) => row.id);
}

/**
 * Whether `error` is PostgreSQL's refusal of a token whose access is gone: the token's foreign key
 * (23503 on `app_access_tokens_access_id_fkey`), failed when the access was deleted between the
 * insert's read of it and its foreign key's lock of the row. (SQLite, serial, never gets there.)
 */
function isAccessGone(error: unknown): boolean {
  const { code, constraint } = error as { code?: unknown; constraint?: unknown };
  return code === '23503' && constraint === 'app_access_tokens_access_id_fkey';
}

/**
 * The bound of a write that adds a live access (`create`, `renew`): it writes only while the user
 * holds fewer than `maxLive` live accesses.
 */
export interface LiveBound {
  maxLive: number;
}

/**
 * What `create` did: the access made, with its first token (in clear, this once); `exists`, the
 * user's access of this app and device was there already (made meanwhile, by an accept of another
 * request of the same app in another tab); `at_limit`, the user holds `maxLive` live accesses.
 */
export type Created = { access: AppAccess; token: string } | 'exists' | 'at_limit';

/**
 * What `renew` did: the token of the access granted afresh; `changed`, the access is no longer one
 * that has ended (another accept renewed it meanwhile, or it was revoked or swept); `at_limit`, the
 * user holds `maxLive` live accesses.
 */
export type Renewed = { token: string } | 'changed' | 'at_limit';

/**
 * The most tokens one access holds. Each Accept of a request matching the access (the same app
 * and device signing in again: a reinstall, cleared storage, a second browser) adds a token, and
 * none is ever handed back, so the older ones pile up, every one of them still opening the
 * account, with nothing on the accesses page to tell them apart. The one that makes an access
 * hold more revokes its oldest once it has won (`AppAccesses.settle`): an app keeps its ten
 * newest sign-ins.
 */
export const MAX_TOKENS_PER_ACCESS = 10;

/**
 * How long after it was written a token still pending counts as settled for the cap: an accept
 * writes its token and records its decision within a request, so one pending this long belongs to
 * an accept the process never finished (stopped in between), whose token works all the same.
 */
export const STALE_PENDING_MS = 10 * 60_000;

/**
 * App accesses and their tokens (durable). Tokens are 256-bit random and stored as SHA-256 only:
 * the clear token is handed out once, through the poll answer or the redirect.
 */
export class AppAccesses {
  /**
   * Whether a write that adds a live access takes the user's lock first (PostgreSQL, where several
   * nodes, and the connections of one node's pool, write at once).
   */
  private readonly locks: boolean;

  constructor(private readonly db: DurableDb) {
    this.locks = needsAdvisoryLocks(db);
  }

  /**
   * The user's live accesses at `now`, newest first, each with its sign-ins (`ListedAccess`), in one
   * query for them all. One that has ended is left out: its tokens open nothing, the sweep deletes
   * it, and the app asking again gets the whole consent screen. Every token counts, a pending one
   * too: it opens the account as a settled one does (`findByTokenHash`), only the cap leaves it out
   * until its accept is recorded (`settle`), so for that moment an access may show one more.
   */
  async listForUser(userId: string, now: number): Promise<ListedAccess[]> {
    const rows = await this.db.selectFrom('app_accesses')
      .leftJoin('app_access_tokens', 'app_access_tokens.access_id', 'app_accesses.id')
      .selectAll('app_accesses')
      .select((eb) => [
        eb.fn.count<number | string>('app_access_tokens.token_hash').as('sign_ins'),
        eb.fn.max('app_access_tokens.created_at').as('last_sign_in_at'),
      ])
      .where('app_accesses.user_id', '=', userId)
      .where(live(now))
      // Grouped by the primary key: PostgreSQL then takes the access's other columns as one value each.
      .groupBy('app_accesses.id')
      .orderBy('app_accesses.created_at', 'desc')
      .execute();
    return rows.map((row) => ({
      ...toAccess(row),
      signIns: Number(row.sign_ins),
      lastSignInAt: row.last_sign_in_at === null ? null : Number(row.last_sign_in_at),
    }));
  }

  /**
   * The user's access for this app and device, if any, also one that has ended and is not swept
   * yet (the one row the unique index allows, which a new accept renews: `renew`).
   */
  async findForApp(userId: string, appId: string, deviceName: string | null): Promise<AppAccess | undefined> {
    const row = await this.db.selectFrom('app_accesses').selectAll().where('user_id', '=', userId).where('app_id', '=', appId).where('device_name', '=', deviceName ?? '').executeTakeFirst();
    return row ? toAccess(row) : undefined;
  }

  /**
   * Takes the user's lock inside `trx`, on PostgreSQL: every write that adds a live access of the
   * user (`create`, `renew`) takes it before it counts them, so none of another request or node
   * comes between its count and its write. Counted, then written in a step of its own, two accepts
   * at once for two apps both found room and both wrote, past the limit. (SQLite needs no lock: the
   * transaction holds its one connection.)
   */
  private async lockUser(trx: DurableDb, userId: string): Promise<void> {
    if (this.locks) await advisoryXactLock(trx, 'pairgate.access.user', userId);
  }

  /**
   * Takes the lock of an access's tokens inside `trx`, on PostgreSQL: every settling of a token
   * (`settle`) takes it before it counts, so two accepts winning at once each count the other's
   * token among the newest, and together they never leave more than `MAX_TOKENS_PER_ACCESS`.
   * (SQLite: its transactions are serial already.)
   */
  private async lockTokens(trx: DurableDb, accessId: string): Promise<void> {
    if (this.locks) await advisoryXactLock(trx, 'pairgate.access.tokens', accessId);
  }

  /**
   * Settles the token of SHA-256 `tokenHash` (`hashToken`) on access `accessId`, once the accept
   * that wrote it has won (its decision recorded), and revokes the settled tokens of the access
   * beyond its `MAX_TOKENS_PER_ACCESS` newest, this one always among them, whatever the clock says:
   * it is the token this accept hands out. Only here: a token is written pending, before its
   * accept is recorded, and that accept may still lose (to another accept of the same request, a
   * refusal, the request's end), its token withdrawn. Trimmed when written, a lost accept had
   * revoked the oldest token of an access at its cap and added none; a pending token counted here,
   * a winner had revoked one for a loser's token withdrawn a moment later. Ties of `created_at`
   * (two accepts in one millisecond) are broken by the hash, an order of no meaning but the same on
   * every node. Nothing when the token is gone (its access revoked meanwhile). A token still
   * pending `STALE_PENDING_MS` after it was written counts as settled (its accept ended long ago:
   * the process stopped between the decision and this), or it stayed outside the cap for good.
   */
  async settle(accessId: string, tokenHash: string, now: number): Promise<void> {
    const settledOrStale = (eb: ExpressionBuilder<Database, 'app_access_tokens'>) => eb.or([eb('pending', '=', 0), eb('created_at', '<', now - STALE_PENDING_MS)]);
    await this.db.transaction().execute(async (trx) => {
      await this.lockTokens(trx, accessId);
      // The access first, shared: a revocation (which takes it `FOR UPDATE`) or a renewal (which
      // updates it) deletes the tokens in their order, the oldest first, while this took the newest
      // and then went for the oldest: each held what the other waited for. Shared, settlings and
      // new tokens (`addToken`, whose foreign key shares it too) do not wait for one another here.
      if ((await lockAccesses(trx, trx.selectFrom('app_accesses').select('id').where('id', '=', accessId), true)).length === 0) return;
      const settled = await trx.updateTable('app_access_tokens').set({ pending: 0 })
        .where('token_hash', '=', tokenHash)
        .where('access_id', '=', accessId)
        .executeTakeFirst();
      if (Number(settled.numUpdatedRows) === 0) return;
      const newestOthers = trx.selectFrom('app_access_tokens').select('token_hash')
        .where('access_id', '=', accessId)
        .where(settledOrStale)
        .where('token_hash', '!=', tokenHash)
        .orderBy('created_at', 'desc')
        .orderBy('token_hash', 'desc')
        .limit(MAX_TOKENS_PER_ACCESS - 1);
      await trx.deleteFrom('app_access_tokens')
        .where('access_id', '=', accessId)
        .where(settledOrStale)
        .where('token_hash', '!=', tokenHash)
        .where('token_hash', 'not in', newestOthers)
        .execute();
    });
  }

  /**
   * Creates the user's access of an app (and device) with a first token, while the user holds fewer
   * than `maxLive` live accesses, counted in the insert's transaction (`Created`). An access of the
   * app that is there already comes first, whatever the count: the caller looks again and adds its
   * token to it, which adds no access. The unique index decides in the end, so two accepts at once
   * never fail.
   */
  async create(input: { userId: string; appId: string; deviceName: string | null; permissions: Permission[]; expiresAt: number | null }, now: number, { maxLive }: LiveBound): Promise<Created> {
    const row: AppAccessRow = {
      id: randomId(),
      user_id: input.userId,
      app_id: input.appId,
      device_name: input.deviceName ?? '',
      permissions: JSON.stringify(input.permissions),
      created_at: now,
      updated_at: now,
      expires_at: input.expiresAt,
    };
    const token = randomToken();
    return this.db.transaction().execute(async (trx): Promise<Created> => {
      await this.lockUser(trx, input.userId);
      const existing = await trx.selectFrom('app_accesses').select('id').where('user_id', '=', row.user_id).where('app_id', '=', row.app_id).where('device_name', '=', row.device_name).executeTakeFirst();
      if (existing) return 'exists';
      if ((await countLive(trx, input.userId, now)) >= maxLive) return 'at_limit';
      const inserted = await trx.insertInto('app_accesses').values(row)
        .onConflict((conflict) => conflict.columns(['user_id', 'app_id', 'device_name']).doNothing())
        .returning('id').executeTakeFirst();
      if (!inserted) return 'exists';
      await trx.insertInto('app_access_tokens').values({ token_hash: hashToken(token), access_id: row.id, created_at: now, pending: 1 }).execute();
      return { access: toAccess(row), token };
    });
  }

  /**
   * Replaces a live access's permissions (and expiry) in place and adds a token for the new holder;
   * `ended` (nothing written) when the access is no longer live at `now`: it ended or was revoked
   * after the caller looked. Changed in place regardless, an access that had just ended came back
   * to life with its old tokens, and uncounted, past the user's limit; the caller looks again and
   * grants it afresh instead (`renew`). The token is pending: the caller settles it once its accept
   * has won (`settle`), which revokes an older one beyond the access's `MAX_TOKENS_PER_ACCESS`.
   */
  async update(id: string, permissions: Permission[], expiresAt: number | null, now: number): Promise<string | 'ended'> {
    const token = randomToken();
    return this.db.transaction().execute(async (trx) => {
      const updated = await trx.updateTable('app_accesses')
        .set({ permissions: JSON.stringify(permissions), expires_at: expiresAt, updated_at: now })
        .where('id', '=', id)
        .where(live(now))
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 0) return 'ended';
      await trx.insertInto('app_access_tokens').values({ token_hash: hashToken(token), access_id: id, created_at: now, pending: 1 }).execute();
      return token;
    });
  }

  /**
   * Grants an access that had ended afresh, while the user holds fewer than `maxLive` live accesses
   * (`Renewed`; the ended one is not among them): the permissions and expiry of the request
   * accepted, its old tokens deleted (they ended with it, and must not come back to life with an
   * access the person granted to whoever holds the new token), and a token for the new holder. Only
   * while it is still ended at `now` (compare-and-set on its expiry), looked at before the count:
   * `changed` when another accept renewed it meanwhile, whose token this one must not delete, and
   * which this one may use whatever the count.
   */
  async renew(ended: Pick<AppAccess, 'id' | 'userId'>, permissions: Permission[], expiresAt: number | null, now: number, { maxLive }: LiveBound): Promise<Renewed> {
    const { id } = ended;
    const token = randomToken();
    return this.db.transaction().execute(async (trx): Promise<Renewed> => {
      await this.lockUser(trx, ended.userId);
      const still = await trx.selectFrom('app_accesses').select('id').where('id', '=', id).where('expires_at', '<=', now).executeTakeFirst();
      if (!still) return 'changed';
      if ((await countLive(trx, ended.userId, now)) >= maxLive) return 'at_limit';
      // Still a compare-and-set: `update` and `restore` change an access without the user's lock.
      const updated = await trx.updateTable('app_accesses')
        .set({ permissions: JSON.stringify(permissions), expires_at: expiresAt, updated_at: now })
        .where('id', '=', id)
        .where('expires_at', '<=', now)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 0) return 'changed';
      await trx.deleteFrom('app_access_tokens').where('access_id', '=', id).execute();
      await trx.insertInto('app_access_tokens').values({ token_hash: hashToken(token), access_id: id, created_at: now, pending: 1 }).execute();
      return { token };
    });
  }

  /**
   * Deletes an access `create` made for a request that could not be accepted after all (refused
   * or expired meanwhile), unless it holds a token: one of another request of the same app,
   * accepted meanwhile on this access, which must keep working. Call after `dropToken`. On
   * PostgreSQL the access is taken `FOR UPDATE` first (`lockAccesses`), and its tokens asked about
   * after, in a statement of their own: one DELETE read them before a token `addToken` had just
   * written was committed, then waited for the access's row (the token's foreign key holds it `FOR
   * KEY SHARE`), and PostgreSQL does not read a condition again for a row that was only locked, not
   * changed: the access went, and by its cascade that token, which the app was then handed (it
   * opened nothing). Now the new statement sees it (READ COMMITTED: a fresh snapshot); a token
   * written once the access is held waits for it, and fails its foreign key (`addToken`: `ended`).
   */
  async discardIfUnused(id: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      if ((await lockAccesses(trx, trx.selectFrom('app_accesses').select('id').where('id', '=', id))).length === 0) return;
      await trx.deleteFrom('app_accesses')
        .where('id', '=', id)
        .where((eb) => eb.not(eb.exists(eb.selectFrom('app_access_tokens').select('app_access_tokens.token_hash').whereRef('app_access_tokens.access_id', '=', 'app_accesses.id'))))
        .execute();
    });
  }

  /**
   * Deletes the accesses that ended by `now`, with their tokens; returns how many. An ended access
   * is no access (`listForUser`, the count of `create` and `renew`), so nothing the person sees goes; deleting it
   * keeps the tables from holding dead tokens for ever. A batch at a time (`inBatches`: a backlog
   * in one go held SQLite's event loop, or outlasted PostgreSQL's query timeout), each batch's
   * tokens and accesses in one transaction as the whole sweep's were, so no other statement of this
   * process comes between them on SQLite; both statements name the batch by the same query, which
   * reads the expiry again, as the unbatched statements did. On PostgreSQL, `sweepSkipping`.
   */
  async sweep(now: number): Promise<number> {
    if (this.locks) return this.sweepSkipping(now);
    return inBatches((limit) => this.db.transaction().execute(async (trx) => {
      // Ordered, so that both statements take the same `limit` ended accesses; by expiry then id,
      // the order of the index `app_accesses_expires`, so a batch is read from it alone (by `id`,
      // SQLite read the table in its primary key's order until it found `limit` ended ones).
      const batch = trx.selectFrom('app_accesses').select('id').where('expires_at', '<=', now).orderBy('expires_at').orderBy('id').limit(limit);
      await trx.deleteFrom('app_access_tokens').where('access_id', 'in', batch).execute();
      // The expiry again on the row the DELETE locks: on PostgreSQL the batch is the statement's
      // snapshot, and an access renewed by another connection meanwhile was deleted by id alone.
      const deleted = await trx.deleteFrom('app_accesses').where('id', 'in', batch).where('expires_at', '<=', now).executeTakeFirst();
      return Number(deleted.numDeletedRows);
    }));
  }

  /**
   * The sweep on PostgreSQL, where it never waits for a row another transaction holds. An
   * account's deletion locks its accesses and then, by their cascade, their tokens; a new password
   * (`revokeAllOf`) and `revoke` locked the tokens and then the accesses (now the accesses first:
   * `lockAccesses`), and a token can be held by a settling (`settle`). Deleting a batch's tokens
   * and then its accesses, the sweep met the first the other way round, and waiting for the rows
   * the second held while holding some of theirs met the second too (40P01, the deletion or the
   * password change answered 503). Each batch now locks its ended accesses `FOR UPDATE SKIP
   * LOCKED` (the ones held are being deleted or renewed by their holder), deletes those of their
   * tokens no one holds (`SKIP LOCKED` again), and deletes the accesses left with no token: one
   * whose token another transaction holds stays for the next sweep (its tokens are dead already:
   * it has ended), and deleting it would have waited for that token through the cascade. No token
   * can be added meanwhile: its insert waits for the access's row, which the batch holds.
   */
  private async sweepSkipping(now: number): Promise<number> {
    return inBatches((limit) => this.db.transaction().execute(async (trx) => {
      const batch = await trx.selectFrom('app_accesses').select('id').where('expires_at', '<=', now)
        .orderBy('expires_at').orderBy('id').limit(limit)
        .forUpdate().skipLocked()
        .execute();
      if (batch.length === 0) return 0;
      const ids = batch.map((row) => row.id);
      await trx.deleteFrom('app_access_tokens')
        .where('token_hash', 'in', (eb) => eb.selectFrom('app_access_tokens').select('token_hash').where('access_id', 'in', ids).forUpdate().skipLocked())
        .execute();
      const deleted = await trx.deleteFrom('app_accesses')
        .where('id', 'in', ids)
        .where('expires_at', '<=', now)
        .where((eb) => eb.not(eb.exists(eb.selectFrom('app_access_tokens').select('app_access_tokens.token_hash').whereRef('app_access_tokens.access_id', '=', 'app_accesses.id'))))
        .executeTakeFirst();
      return Number(deleted.numDeletedRows);
    }));
  }

  /**
   * Puts back the permissions and expiry `previous` had, undoing an `update` or a `renew` made at
   * `updatedAt` for a request that could not be accepted after all (refused or expired meanwhile);
   * left alone when the access has changed again since. (A renewed access goes back to having
   * ended, without the tokens it had: they had ended with it.)
   */
  async restore(previous: AppAccess, updatedAt: number): Promise<void> {
    await this.db.updateTable('app_accesses')
      .set({ permissions: JSON.stringify(previous.permissions), expires_at: previous.expiresAt, updated_at: previous.updatedAt })
      .where('id', '=', previous.id)
      .where('updated_at', '=', updatedAt)
      .execute();
  }

  /**
   * A further token for an access that is live at `now` (the same app signing in again elsewhere);
   * `ended` (no token) when it is not: a token of an ended access opens nothing, and the caller
   * grants the access afresh instead. One statement, so the access is live where the token is added.
   * The token is pending: the caller settles it once its accept has won (`settle`), which revokes
   * the tokens beyond the access's `MAX_TOKENS_PER_ACCESS` newest. On PostgreSQL the statement may
   * read the access live and then find it deleted by the time its foreign key takes the row (a
   * revocation, a new password, `discardIfUnused` committed in between): that too is `ended`, not
   * a failure (it went up as a 500).
   */
  async addToken(accessId: string, now: number): Promise<string | 'ended'> {
    const token = randomToken();
    try {
      const added = await this.db.insertInto('app_access_tokens')
        .columns(['token_hash', 'access_id', 'created_at', 'pending'])
        .expression((eb) => eb.selectFrom('app_accesses')
          .select((inner) => [inner.val(hashToken(token)).as('token_hash'), 'id', inner.val(now).as('created_at'), inner.val(1).as('pending')])
          .where('id', '=', accessId)
          .where(live(now)))
        .executeTakeFirst();
      return Number(added.numInsertedOrUpdatedRows ?? 0) === 0 ? 'ended' : token;
    } catch (error) {
      if (isAccessGone(error)) return 'ended';
      throw error;
    }
  }

  /** Withdraws one token (when the request it was made for could not be completed). */
  async dropToken(token: string): Promise<void> {
    await this.db.deleteFrom('app_access_tokens').where('token_hash', '=', hashToken(token)).execute();
  }

  /** Deletes a user's access and all its tokens; false when the user has no such access. */
  async revoke(userId: string, accessId: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      // The access before its tokens (`lockAccesses`).
      const owned = await lockAccesses(trx, trx.selectFrom('app_accesses').select('id').where('id', '=', accessId).where('user_id', '=', userId));
      if (owned.length === 0) return false;
      await trx.deleteFrom('app_access_tokens').where('access_id', '=', accessId).execute();
      await trx.deleteFrom('app_accesses').where('id', '=', accessId).execute();
      return true;
    });
  }

  /**
   * Revokes every access of account `userId` with its tokens (its new password ends them:
   * `passwordChangeHooks`), through `db` (the transaction writing the password); returns how many
   * were live at `now` (as `listForUser` counts them). An accept racing this writes its token
   * after it at worst; the accept then reads the password again and withdraws that token
   * (`AcceptingSignIn` in `consent.ts`).
   */
  static async revokeAllOf(db: DurableDb, userId: string, now: number): Promise<number> {
    const owned = db.selectFrom('app_accesses').select('id').where('user_id', '=', userId);
    // The accesses before their tokens, in id order (`lockAccesses`).
    await lockAccesses(db, owned);
    const live = await countLive(db, userId, now);
    await db.deleteFrom('app_access_tokens').where('access_id', 'in', owned).execute();
    await db.deleteFrom('app_accesses').where('user_id', '=', userId).execute();
    return live;
  }

  /** The live access a token opens (unknown, revoked or expired: undefined). */
  async findByToken(token: string, now: number): Promise<TokenAccess | undefined> {
    if (!/^[A-Za-z0-9_-]{20,200}$/.test(token)) return undefined;
    return this.findByTokenHash(hashToken(token), now);
  }

  /**
   * The live access the token of SHA-256 `tokenHash` (`hashToken`) opens: for an accepted auth
   * request read without its token (a pinned app's, polled without its delivery code), which
   * keeps the hash only.
   */
  async findByTokenHash(tokenHash: string, now: number): Promise<TokenAccess | undefined> {
    const row = await this.db
      .selectFrom('app_access_tokens')
      .innerJoin('app_accesses', 'app_accesses.id', 'app_access_tokens.access_id')
      .innerJoin('users', 'users.id', 'app_accesses.user_id')
      .selectAll('app_accesses')
      .select(['users.username as username', 'app_access_tokens.created_at as token_created_at'])
      .where('app_access_tokens.token_hash', '=', tokenHash)
      .executeTakeFirst();
    if (!row) return undefined;
    const access = toAccess(row);
    if (access.expiresAt !== null && access.expiresAt <= now) return undefined;
    return { access, username: row.username, tokenCreatedAt: Number(row.token_created_at) };
  }
}
