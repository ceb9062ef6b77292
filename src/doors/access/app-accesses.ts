import { hashToken, randomId, randomToken } from '../../core/ids.js';
import type { ExpressionBuilder } from 'kysely';
import type { Database, DurableDb } from '../../store/durable-schema.js';
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

/**
 * App accesses and their tokens (durable). Tokens are 256-bit random and stored as SHA-256 only:
 * the clear token is handed out once, through the poll answer or the redirect.
 */
export class AppAccesses {
  constructor(private readonly db: DurableDb) {}

  /**
   * The user's live accesses at `now`, newest first. One that has ended is left out: its tokens
   * open nothing, the sweep deletes it, and the app asking again gets the whole consent screen.
   */
  async listForUser(userId: string, now: number): Promise<AppAccess[]> {
    const rows = await this.db.selectFrom('app_accesses').selectAll().where('user_id', '=', userId).where(live(now)).orderBy('created_at', 'desc').execute();
    return rows.map(toAccess);
  }

  /** How many live accesses the user holds at `now` (what PAIRGATE_ACCESS_MAX_PER_USER bounds). */
  async countForUser(userId: string, now: number): Promise<number> {
    const row = await this.db.selectFrom('app_accesses').select((eb) => eb.fn.countAll<number>().as('n')).where('user_id', '=', userId).where(live(now)).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /**
   * The user's access for this app and device, if any, also one that has ended and is not swept
   * yet (the one row the unique index allows, which a new accept renews: `renew`).
   */
  async findForApp(userId: string, appId: string, deviceName: string | null): Promise<AppAccess | undefined> {
    const row = await this.db.selectFrom('app_accesses').selectAll().where('user_id', '=', userId).where('app_id', '=', appId).where('device_name', '=', deviceName ?? '').executeTakeFirst();
    return row ? toAccess(row) : undefined;
  }

  /** Creates an access with a first token; returns both (the token in clear, this once). */
  /**
   * Creates the user's access of an app (and device) with a first token; undefined when one exists
   * already (made meanwhile, by an accept of another request of the same app in another tab): the
   * caller looks again and uses it. The unique index decides, so two accepts at once never fail.
   */
  async create(input: { userId: string; appId: string; deviceName: string | null; permissions: Permission[]; expiresAt: number | null }, now: number): Promise<{ access: AppAccess; token: string } | undefined> {
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
    const made = await this.db.transaction().execute(async (trx) => {
      const inserted = await trx.insertInto('app_accesses').values(row)
        .onConflict((conflict) => conflict.columns(['user_id', 'app_id', 'device_name']).doNothing())
        .returning('id').executeTakeFirst();
      if (!inserted) return false;
      await trx.insertInto('app_access_tokens').values({ token_hash: hashToken(token), access_id: row.id, created_at: now }).execute();
      return true;
    });
    return made ? { access: toAccess(row), token } : undefined;
  }

  /** Replaces an access's permissions (and expiry) in place and adds a token for the new holder. */
  async update(id: string, permissions: Permission[], expiresAt: number | null, now: number): Promise<string> {
    await this.db.updateTable('app_accesses').set({ permissions: JSON.stringify(permissions), expires_at: expiresAt, updated_at: now }).where('id', '=', id).execute();
    return this.addToken(id, now);
  }

  /**
   * Grants an access that had ended afresh: the permissions and expiry of the request accepted, its
   * old tokens deleted (they ended with it, and must not come back to life with an access the
   * person granted to whoever holds the new token), and a token for the new holder. Only while it
   * is still ended at `now` (compare-and-set on its expiry): undefined when another accept renewed
   * it meanwhile, whose token this one must not delete.
   */
  async renew(id: string, permissions: Permission[], expiresAt: number | null, now: number): Promise<string | undefined> {
    const token = randomToken();
    const renewed = await this.db.transaction().execute(async (trx) => {
      const updated = await trx.updateTable('app_accesses')
        .set({ permissions: JSON.stringify(permissions), expires_at: expiresAt, updated_at: now })
        .where('id', '=', id)
        .where('expires_at', '<=', now)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 0) return false;
      await trx.deleteFrom('app_access_tokens').where('access_id', '=', id).execute();
      await trx.insertInto('app_access_tokens').values({ token_hash: hashToken(token), access_id: id, created_at: now }).execute();
      return true;
    });
    return renewed ? token : undefined;
  }

  /**
   * Deletes an access `create` made for a request that could not be accepted after all (refused
   * or expired meanwhile), unless it holds a token: one of another request of the same app,
   * accepted meanwhile on this access, which must keep working. Call after `dropToken`.
   */
  async discardIfUnused(id: string): Promise<void> {
    await this.db.deleteFrom('app_accesses')
      .where('id', '=', id)
      .where((eb) => eb.not(eb.exists(eb.selectFrom('app_access_tokens').select('app_access_tokens.token_hash').whereRef('app_access_tokens.access_id', '=', 'app_accesses.id'))))
      .execute();
  }

  /**
   * Deletes the accesses that ended by `now`, with their tokens; returns how many. An ended access
   * is no access (`listForUser`, `countForUser`), so nothing the person sees goes; deleting it
   * keeps the tables from holding dead tokens for ever.
   */
  async sweep(now: number): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const ended = trx.selectFrom('app_accesses').select('id').where('expires_at', '<=', now);
      await trx.deleteFrom('app_access_tokens').where('access_id', 'in', ended).execute();
      const deleted = await trx.deleteFrom('app_accesses').where('expires_at', '<=', now).executeTakeFirst();
      return Number(deleted.numDeletedRows);
    });
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

  /** A further token for an existing access (the same app signing in again elsewhere). */
  async addToken(accessId: string, now: number): Promise<string> {
    const token = randomToken();
    await this.db.insertInto('app_access_tokens').values({ token_hash: hashToken(token), access_id: accessId, created_at: now }).execute();
    return token;
  }

  /** Withdraws one token (when the request it was made for could not be completed). */
  async dropToken(token: string): Promise<void> {
    await this.db.deleteFrom('app_access_tokens').where('token_hash', '=', hashToken(token)).execute();
  }

  /** Deletes a user's access and all its tokens; false when the user has no such access. */
  async revoke(userId: string, accessId: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const owned = await trx.selectFrom('app_accesses').select('id').where('id', '=', accessId).where('user_id', '=', userId).executeTakeFirst();
      if (!owned) return false;
      await trx.deleteFrom('app_access_tokens').where('access_id', '=', accessId).execute();
      await trx.deleteFrom('app_accesses').where('id', '=', accessId).execute();
      return true;
    });
  }

  /** The live access a token opens (unknown, revoked or expired: undefined). */
  async findByToken(token: string, now: number): Promise<TokenAccess | undefined> {
    if (!/^[A-Za-z0-9_-]{20,200}$/.test(token)) return undefined;
    const row = await this.db
      .selectFrom('app_access_tokens')
      .innerJoin('app_accesses', 'app_accesses.id', 'app_access_tokens.access_id')
      .innerJoin('users', 'users.id', 'app_accesses.user_id')
      .selectAll('app_accesses')
      .select(['users.username as username', 'app_access_tokens.created_at as token_created_at'])
      .where('app_access_tokens.token_hash', '=', hashToken(token))
      .executeTakeFirst();
    if (!row) return undefined;
    const access = toAccess(row);
    if (access.expiresAt !== null && access.expiresAt <= now) return undefined;
    return { access, username: row.username, tokenCreatedAt: Number(row.token_created_at) };
  }
}
