import { assertScopeStillAllowed, type DeviceClient } from './clients.js';
import type { DeviceEnv } from './device-env.js';
import { OAuthError } from './oauth-errors.js';

/** `grant_type` of a refresh (RFC 6749 §6). */
export const REFRESH_GRANT_TYPE = 'refresh_token';

/** A successful token answer (RFC 6749 §5.1), with the refresh token when the door issues them. */
export interface TokenAnswer {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  /** Absent when the token opens no scope: RFC 6749 §3.3 makes a scope one token or more, never "". */
  scope?: string;
  refresh_token?: string;
}

const invalidGrant = (why: string): OAuthError => new OAuthError('invalid_grant', why);

/** What a family's tokens carry, whoever issues them (the device code, or a refresh). */
export interface FamilyGrant {
  family: string;
  clientId: string;
  registration: string | undefined;
  userId: string;
  /** What the person granted: the refresh token's scope, kept across rotations. */
  grantedScope: string;
  /** What this access token opens (the granted scope or less). */
  accessScope: string;
  connectedAt: number;
}

/**
 * Issues an access token, and a refresh token of the same family when the door issues them
 * (PAIRGATE_DEVICE_REFRESH_TOKEN_TTL_SECONDS > 0). Throws what the database throws (an account
 * deleted in between: the foreign key refuses); the caller says what that means to the client.
 */
export async function issueFamilyTokens(env: DeviceEnv, grant: FamilyGrant, now: number): Promise<TokenAnswer> {
  const { cfg, tokens } = env;
  const accessToken = await tokens.issue({ clientId: grant.clientId, registration: grant.registration, userId: grant.userId, scope: grant.accessScope, grantId: grant.family, ttlMs: cfg.PAIRGATE_DEVICE_TOKEN_TTL_SECONDS * 1000 }, now);
  const answer: TokenAnswer = { access_token: accessToken, token_type: 'Bearer', expires_in: cfg.PAIRGATE_DEVICE_TOKEN_TTL_SECONDS, ...(grant.accessScope ? { scope: grant.accessScope } : {}) };
  const refreshTtl = cfg.PAIRGATE_DEVICE_REFRESH_TOKEN_TTL_SECONDS;
  if (refreshTtl > 0) {
    answer.refresh_token = await tokens.refresh.issue({ family: grant.family, clientId: grant.clientId, registration: grant.registration, userId: grant.userId, scope: grant.grantedScope, connectedAt: grant.connectedAt, ttlMs: refreshTtl * 1000 }, now);
  }
  return answer;
}

/**
 * The scope of a refreshed access token: the granted one, or the part of it the client asks for
 * (RFC 6749 §6: never a scope the person did not grant).
 */
function refreshedScope(granted: string, requested: string | undefined): string {
  const asked = [...new Set((requested ?? '').split(' ').filter(Boolean))];
  if (asked.length === 0) return granted;
  const grantedTokens = granted.split(' ').filter(Boolean);
  const extra = asked.find((token) => !grantedTokens.includes(token));
  if (extra !== undefined) throw new OAuthError('invalid_scope', `The scope "${extra}" was not granted to this device: ask for the granted scope or less.`);
  return asked.join(' ');
}

/**
 * `grant_type=refresh_token` (RFC 6749 §6) for public clients, with rotation and reuse detection
 * (RFC 9700 §4.14.2): each refresh token works once and is replaced by a new one of the same family
 * (the device authorization it descends from); a refresh token presented again, which only a
 * leaked copy explains, ends the whole family, the tokens of whoever holds the newest one included,
 * so a thief and the device cannot both keep access: the person connects the device again.
 *
 * The new tokens are written before the presented one is claimed (compare-and-set on `used_at`),
 * so that whoever loses the claim, and revokes the family for it, deletes the winner's new tokens
 * too: no transaction spans the refresh, on SQLite and PostgreSQL alike (only the access token's
 * write and the trim of the family's older ones share one, `DeviceTokens.issue`, which keeps the
 * previous token working: the client's requests still in flight with it are not refused).
 */
export async function refreshTokens(env: DeviceEnv, client: DeviceClient, presented: string | undefined, requestedScope: string | undefined): Promise<TokenAnswer> {
  if (!presented) throw new OAuthError('invalid_request', 'refresh_token is required.');
  const { ctx, tokens } = env;
  const now = ctx.clock.now();
  const found = await tokens.refresh.find(presented);
  if (!found) throw invalidGrant('Unknown refresh token.');
  if (found.usedAt !== undefined) {
    await tokens.revokeFamily(found.family);
    ctx.logger.warn({ clientId: found.clientId, family: found.family }, 'device refresh token reused: its family is revoked');
    throw invalidGrant('This refresh token was already used: every token of this device is revoked, connect it again.');
  }
  if (found.expiresAt <= now) throw invalidGrant('The refresh token has expired: connect the device again.');
  // A refresh token works only for the client it was issued to (RFC 6749 §6), under the same
  // registration: a client deleted and registered again under the same id is a new client.
  if (found.clientId !== client.id) throw invalidGrant('This refresh token was issued to another client.');
  if (found.registration !== client.registration) throw invalidGrant('This refresh token was issued to an earlier registration of this client.');
  const scope = refreshedScope(found.scope, requestedScope);
  assertScopeStillAllowed(client, scope);

  let answer: TokenAnswer;
  try {
    answer = await issueFamilyTokens(env, { family: found.family, clientId: found.clientId, registration: found.registration, userId: found.userId, grantedScope: found.scope, accessScope: scope, connectedAt: found.connectedAt }, now);
  } catch (error) {
    // The account was deleted in between (the foreign key refuses the new tokens; its old ones went with it).
    if (!(await tokens.userExists(found.userId))) throw invalidGrant('The account that connected this device no longer exists.');
    throw error;
  }
  if (!(await tokens.refresh.claim(presented, now))) {
    // Someone presented the same token at the same time and won, or the family was revoked in
    // between (disconnected, reused): either way nothing of it may go on, the new tokens included.
    await tokens.revokeFamily(found.family);
    ctx.logger.warn({ clientId: found.clientId, family: found.family }, 'device refresh token presented twice at once, or its device disconnected: its family is revoked');
    throw invalidGrant('This refresh token is no longer valid (already used, or the device was disconnected): connect the device again.');
  }
  return answer;
}
