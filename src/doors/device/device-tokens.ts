import { hashToken, isTokenShaped, randomToken } from '../../core/ids.js';
import type { DurableDb } from '../../store/durable-schema.js';
import { advisoryXactLock, needsAdvisoryLocks } from '../../store/sql/advisory-lock.js';
import { deleteInBatches } from '../../store/sql/batched-delete.js';
import { DeviceRefreshTokens } from './refresh-tokens.js';
import './device-rows.js';
import '../accounts/account-rows.js';

/** What an access token of the device door opens. */
export interface DeviceToken {
  clientId: string;
  userId: string;
  username: string;
  scope: string;
  /** The client's registration it was issued under (undefined for a configured client). */
  registration: string | undefined;
  createdAt: number;
  expiresAt: number;
}

/**
 * A device connected to an account: one device authorization (a token family), live while it holds
 * a live access token or a live unused refresh token; never the tokens themselves.
 */
export interface ConnectedDevice {
  /** The id of the grant that started the family: how the person names it to disconnect it. */
  id: string;
  clientId: string;
  /** The scope the person granted. */
  scope: string;
  /** When the person connected it. */
  createdAt: number;
  /** Until when it may call without the person: its last live token's expiry (a refresh token's, if it has one). */
  expiresAt: number;
}

/**
 * The most live access tokens one family (one device) holds. Every refresh issues one, and until
 * this cap each stayed live for its whole lifetime, so a device refreshing as fast as its network
 * may (PAIRGATE_DEVICE_TOKEN_REQUESTS_PER_MINUTE) held thousands, each opening the account, and
 * `/account/devices` read them all. Issuing one revokes the family's oldest beyond this many: the
 * new one; the one before it, which requests the client sent just before it refreshed may still
 * carry (revoked at once, they would fail for no fault of the client); and one more, for a client
 * that keeps a token of narrower scope (a refresh may ask for less) beside its full one, or whose
 * threads refreshed one after the other while an older call was still out.
 */
export const MAX_ACCESS_TOKENS_PER_FAMILY = 3;

/**
 * Access tokens of the device door (durable): 256 bits from the CSPRNG, handed out once in the
 * token answer and stored as SHA-256 only, so a copy of the database opens nothing. With the
 * refresh tokens (`refresh`) they form one family per device authorization, named by its grant id:
 * a device is listed, disconnected and revoked as a family.
 */
export class DeviceTokens {
  /** The refresh tokens of the same families. */
  readonly refresh: DeviceRefreshTokens;

  /** Whether issuing takes the family's lock (PostgreSQL, where several nodes write at once). */
  private readonly locks: boolean;

  constructor(private readonly db: DurableDb) {
    this.refresh = new DeviceRefreshTokens(db);
    this.locks = needsAdvisoryLocks(db);
  }

  /**
   * Issues a token in family `input.grantId`; returns it in clear (the only time it exists outside a
   * hash). In the same transaction, revokes the family's tokens beyond its
   * `MAX_ACCESS_TOKENS_PER_FAMILY` newest, this one always among them whatever the clock says; ties
   * of `created_at` broken by the hash, the same order on every node. On PostgreSQL after an
   * advisory lock on the family, so two issues at once (two refreshes racing, of which the loser
   * then revokes the family anyway) each count the other's token and together leave no more.
   */
  async issue(input: { clientId: string; registration: string | undefined; userId: string; scope: string; grantId: string; ttlMs: number }, now: number): Promise<string> {
    const token = randomToken();
    const tokenHash = hashToken(token);
    await this.db.transaction().execute(async (trx) => {
      if (this.locks) await advisoryXactLock(trx, 'pairgate.device.family', input.grantId);
      await trx.insertInto('device_access_tokens').values({
        token_hash: tokenHash,
        client_id: input.clientId,
        user_id: input.userId,
        scope: input.scope,
        grant_id: input.grantId,
        registration_id: input.registration ?? null,
        created_at: now,
        expires_at: now + input.ttlMs,
      }).execute();
      const newestOthers = trx.selectFrom('device_access_tokens').select('token_hash')
        .where('grant_id', '=', input.grantId)
        .where('token_hash', '!=', tokenHash)
        .orderBy('created_at', 'desc')
        .orderBy('token_hash', 'desc')
        .limit(MAX_ACCESS_TOKENS_PER_FAMILY - 1);
      await trx.deleteFrom('device_access_tokens')
        .where('grant_id', '=', input.grantId)
        .where('token_hash', '!=', tokenHash)
        .where('token_hash', 'not in', newestOthers)
        .execute();
    });
    return token;
  }

  /** Whether the account `userId` still exists. */
  async userExists(userId: string): Promise<boolean> {
    return (await this.db.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst()) !== undefined;
  }

  /** The live token `token` (unknown, revoked or expired: undefined). */
  async find(token: string, now: number): Promise<DeviceToken | undefined> {
    if (!isTokenShaped(token)) return undefined;
    const row = await this.db
      .selectFrom('device_access_tokens')
      .innerJoin('users', 'users.id', 'device_access_tokens.user_id')
      .select(['device_access_tokens.client_id', 'device_access_tokens.user_id', 'device_access_tokens.scope', 'device_access_tokens.registration_id', 'device_access_tokens.created_at', 'device_access_tokens.expires_at', 'users.username'])
      .where('device_access_tokens.token_hash', '=', hashToken(token))
      .executeTakeFirst();
    if (!row || Number(row.expires_at) <= now) return undefined;
    return { clientId: row.client_id, userId: row.user_id, username: row.username, scope: row.scope, registration: row.registration_id ?? undefined, createdAt: Number(row.created_at), expiresAt: Number(row.expires_at) };
  }

  /** Deletes token `token`; true when it existed. */
  async revoke(token: string): Promise<boolean> {
    if (!isTokenShaped(token)) return false;
    const result = await this.db.deleteFrom('device_access_tokens').where('token_hash', '=', hashToken(token)).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /**
   * The devices account `userId` connected, newest first: one per family with a live access token
   * or a live unused refresh token. A device whose access token expired but which may still refresh
   * is connected all the same, and a device that refreshed many times is still one device.
   */
  async listForUser(userId: string, now: number): Promise<ConnectedDevice[]> {
    const [access, refresh] = await Promise.all([
      this.db.selectFrom('device_access_tokens')
        .select(['grant_id', 'client_id', 'scope', 'created_at', 'expires_at'])
        .where('user_id', '=', userId)
        .where('expires_at', '>', now)
        .execute(),
      this.db.selectFrom('device_refresh_tokens')
        .select(['family', 'client_id', 'scope', 'connected_at', 'expires_at'])
        .where('user_id', '=', userId)
        .where('expires_at', '>', now)
        .where('used_at', 'is', null)
        .execute(),
    ]);
    const families = new Map<string, ConnectedDevice>();
    // Refresh tokens first: they carry the scope granted and when the device was connected, which
    // a narrowed access token (or one issued by a later refresh) does not.
    for (const row of refresh) {
      const known = families.get(row.family);
      const expiresAt = Math.max(Number(row.expires_at), known?.expiresAt ?? 0);
      families.set(row.family, { id: row.family, clientId: row.client_id, scope: row.scope, createdAt: Number(row.connected_at), expiresAt });
    }
    for (const row of access) {
      const known = families.get(row.grant_id);
      if (known) known.expiresAt = Math.max(known.expiresAt, Number(row.expires_at));
      else families.set(row.grant_id, { id: row.grant_id, clientId: row.client_id, scope: row.scope, createdAt: Number(row.created_at), expiresAt: Number(row.expires_at) });
    }
    // Grant ids are time-ordered: connected in the same millisecond, the later grant still comes first.
    return [...families.values()].sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  }

  /** Disconnects the device of account `userId` started by grant `id` (its access and refresh tokens); false when it has none such. */
  async revokeForUser(userId: string, id: string): Promise<boolean> {
    const [access, refresh] = await Promise.all([
      this.db.deleteFrom('device_access_tokens').where('user_id', '=', userId).where('grant_id', '=', id).executeTakeFirst(),
      this.db.deleteFrom('device_refresh_tokens').where('user_id', '=', userId).where('family', '=', id).executeTakeFirst(),
    ]);
    return Number(access.numDeletedRows) + Number(refresh.numDeletedRows) > 0;
  }

  /**
   * Ends family `family`: deletes its access tokens and its refresh tokens, used ones included (a
   * family is revoked because one of its tokens leaked; nothing of it may be trusted again).
   */
  async revokeFamily(family: string): Promise<void> {
    await Promise.all([
      this.db.deleteFrom('device_access_tokens').where('grant_id', '=', family).execute(),
      this.db.deleteFrom('device_refresh_tokens').where('family', '=', family).execute(),
    ]);
  }

  /**
   * Disconnects every device of account `userId` (its new password ends them: `passwordChangeHooks`),
   * through `db` (the transaction writing the password): deletes its access and refresh tokens, used
   * ones too, as `revokeFamily` does; returns how many devices were connected at `now` (as
   * `listForUser` counts them: families with a live access token or a live unused refresh token).
   * A refresh racing this writes its new tokens before it claims the one presented, and loses the
   * claim once that is deleted, revoking the family (`refreshTokens`); a device code approved
   * before and redeemed after is refused by the password stamp of its approval (`token-route.ts`).
   */
  static async disconnectAllOf(db: DurableDb, userId: string, now: number): Promise<number> {
    const [access, refresh] = await Promise.all([
      db.selectFrom('device_access_tokens').select('grant_id').where('user_id', '=', userId).where('expires_at', '>', now).execute(),
      db.selectFrom('device_refresh_tokens').select('family').where('user_id', '=', userId).where('expires_at', '>', now).where('used_at', 'is', null).execute(),
    ]);
    const families = new Set([...access.map((row) => row.grant_id), ...refresh.map((row) => row.family)]);
    await db.deleteFrom('device_access_tokens').where('user_id', '=', userId).execute();
    await db.deleteFrom('device_refresh_tokens').where('user_id', '=', userId).execute();
    return families.size;
  }

  /** Deletes every access and refresh token issued to client `clientId`; returns how many access tokens there were. */
  async revokeForClient(clientId: string): Promise<number> {
    const [access] = await Promise.all([
      this.db.deleteFrom('device_access_tokens').where('client_id', '=', clientId).executeTakeFirst(),
      this.db.deleteFrom('device_refresh_tokens').where('client_id', '=', clientId).execute(),
    ]);
    return Number(access.numDeletedRows);
  }

  /**
   * Deletes expired access and refresh tokens (used refresh tokens are kept until then, to recognise
   * reuse), a batch at a time (`deleteInBatches`).
   */
  async sweep(now: number): Promise<void> {
    await deleteInBatches(this.db, { table: 'device_access_tokens', key: 'token_hash', where: (eb) => eb('expires_at', '<=', now) });
    await deleteInBatches(this.db, { table: 'device_refresh_tokens', key: 'token_hash', where: (eb) => eb('expires_at', '<=', now) });
  }
}
