import { hashToken, isTokenShaped, randomToken } from '../../core/ids.js';
import type { DurableDb } from '../../store/durable-schema.js';
import './device-rows.js';
import '../accounts/account-rows.js';

/** A refresh token of the device door as stored, whatever its state (the token route decides). */
export interface RefreshToken {
  /** The device authorization that started its family. */
  family: string;
  clientId: string;
  /** The client's registration it was issued under (undefined for a configured client). */
  registration: string | undefined;
  userId: string;
  /** The scope the person granted (what every refresh of the family may ask for at most). */
  scope: string;
  connectedAt: number;
  createdAt: number;
  expiresAt: number;
  /** When it was exchanged; undefined while it may still be used. */
  usedAt: number | undefined;
}

/** What a new refresh token of a family carries, and how long it lives. */
export type RefreshTokenInput = Pick<RefreshToken, 'family' | 'clientId' | 'registration' | 'userId' | 'scope' | 'connectedAt'> & { ttlMs: number };

/**
 * Refresh tokens of the device door (RFC 6749 §6), durable: 256 bits from the CSPRNG, handed out
 * once and stored as SHA-256 only. Each is used once (`claim`, a compare-and-set), after which it
 * stays in the table, marked used, until it expires: a second presentation is then recognised as
 * reuse (RFC 9700 §4.14.2) rather than as an unknown token.
 */
export class DeviceRefreshTokens {
  constructor(private readonly db: DurableDb) {}

  /** Issues a refresh token in `input.family`; returns it in clear (the only time it exists outside a hash). */
  async issue(input: RefreshTokenInput, now: number): Promise<string> {
    const token = randomToken();
    await this.db.insertInto('device_refresh_tokens').values({
      token_hash: hashToken(token),
      family: input.family,
      client_id: input.clientId,
      registration_id: input.registration ?? null,
      user_id: input.userId,
      scope: input.scope,
      connected_at: input.connectedAt,
      created_at: now,
      expires_at: now + input.ttlMs,
      used_at: null,
    }).execute();
    return token;
  }

  /** The refresh token `token`, used or not, expired or not; undefined when no such token is stored. */
  async find(token: string): Promise<RefreshToken | undefined> {
    if (!isTokenShaped(token)) return undefined;
    const row = await this.db.selectFrom('device_refresh_tokens').selectAll().where('token_hash', '=', hashToken(token)).executeTakeFirst();
    if (!row) return undefined;
    return {
      family: row.family,
      clientId: row.client_id,
      registration: row.registration_id ?? undefined,
      userId: row.user_id,
      scope: row.scope,
      connectedAt: Number(row.connected_at),
      createdAt: Number(row.created_at),
      expiresAt: Number(row.expires_at),
      usedAt: row.used_at === null ? undefined : Number(row.used_at),
    };
  }

  /**
   * Marks `token` used if nobody did before: one conditional UPDATE, so of any number of concurrent
   * callers exactly one gets true. False also when the token is gone (its family was revoked).
   */
  async claim(token: string, now: number): Promise<boolean> {
    const result = await this.db.updateTable('device_refresh_tokens')
      .set({ used_at: now })
      .where('token_hash', '=', hashToken(token))
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}
