import { hashToken, randomToken } from '../../core/ids.js';
import type { DurableDb } from '../../store/durable-schema.js';
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

/** A device connected to an account: one live access token, never the token itself. */
export interface ConnectedDevice {
  /** The id of the grant that issued the token: how the person names it to revoke it. */
  id: string;
  clientId: string;
  scope: string;
  createdAt: number;
  expiresAt: number;
}

/** Tokens are base64url of 256 random bits: anything else is not looked up. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/**
 * Access tokens of the device door (durable): 256 bits from the CSPRNG, handed out once in the
 * token answer and stored as SHA-256 only, so a copy of the database opens nothing.
 */
export class DeviceTokens {
  constructor(private readonly db: DurableDb) {}

  /** Issues a token; returns it in clear (the only time it exists outside a hash). */
  async issue(input: { clientId: string; registration: string | undefined; userId: string; scope: string; grantId: string; ttlMs: number }, now: number): Promise<string> {
    const token = randomToken();
    await this.db.insertInto('device_access_tokens').values({
      token_hash: hashToken(token),
      client_id: input.clientId,
      user_id: input.userId,
      scope: input.scope,
      grant_id: input.grantId,
      registration_id: input.registration ?? null,
      created_at: now,
      expires_at: now + input.ttlMs,
    }).execute();
    return token;
  }

  /** Whether the account `userId` still exists. */
  async userExists(userId: string): Promise<boolean> {
    return (await this.db.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst()) !== undefined;
  }

  /** The live token `token` (unknown, revoked or expired: undefined). */
  async find(token: string, now: number): Promise<DeviceToken | undefined> {
    if (!TOKEN_PATTERN.test(token)) return undefined;
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
    if (!TOKEN_PATTERN.test(token)) return false;
    const result = await this.db.deleteFrom('device_access_tokens').where('token_hash', '=', hashToken(token)).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** The live tokens account `userId` granted, newest first, each named by the grant that issued it. */
  async listForUser(userId: string, now: number): Promise<ConnectedDevice[]> {
    const rows = await this.db
      .selectFrom('device_access_tokens')
      .select(['grant_id', 'client_id', 'scope', 'created_at', 'expires_at'])
      .where('user_id', '=', userId)
      .where('expires_at', '>', now)
      .orderBy('created_at', 'desc')
      // Grant ids are time-ordered: issued in the same millisecond, the later grant still comes first.
      .orderBy('grant_id', 'desc')
      .execute();
    return rows.map((row) => ({ id: row.grant_id, clientId: row.client_id, scope: row.scope, createdAt: Number(row.created_at), expiresAt: Number(row.expires_at) }));
  }

  /** Deletes the token of account `userId` issued by grant `id`; false when it has none such. */
  async revokeForUser(userId: string, id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('device_access_tokens').where('user_id', '=', userId).where('grant_id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Deletes every token issued to client `clientId`; returns how many there were. */
  async revokeForClient(clientId: string): Promise<number> {
    const result = await this.db.deleteFrom('device_access_tokens').where('client_id', '=', clientId).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** Deletes expired tokens. */
  async sweep(now: number): Promise<void> {
    await this.db.deleteFrom('device_access_tokens').where('expires_at', '<=', now).execute();
  }
}
