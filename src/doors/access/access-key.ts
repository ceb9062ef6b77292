import { randomId } from '../../core/ids.js';
import type { GrantEngine } from '../../engine/grant-engine.js';
import { ACCESS_KIND, type AccessGrant, type AccessRequest, type AccessResult } from './access-request.js';

/**
 * The key of an auth request: the grant's id followed by the grant's secret, one opaque string
 * (Pryv's `key`, the last segment of `poll`). The store keeps only the secret's SHA-256, and the
 * accepted result is sealed under a key derived from the secret (`sealed-result.ts`), so a copy of
 * the database neither finds a request's poll URL nor reads its token.
 *
 * Pryv's key must match `^[a-zA-Z0-9_-]{10,200}$`, the base64url alphabet, which leaves no
 * character free to separate the two parts: the id has a fixed length (16 random bytes, 22
 * characters) and the secret is the rest. The `pryv` library polls `<access URL><key>`, and the
 * key reaches the app in the redirect (`prYvkey`, OAuth `code`), so the whole key is what an app
 * holds, never the bare id.
 */

/** Pryv's key syntax, checked before any look-up. */
export const KEY_PATTERN = /^[a-zA-Z0-9_-]{10,200}$/;
/** Length of the id part: `randomId()` of 16 bytes, base64url. */
const ID_LENGTH = 22;

/** A key split into its parts; `value` is the key as the app holds it. */
export interface AccessKey {
  id: string;
  secret: string;
  value: string;
}

/** A fresh grant id for an auth request (128 bits, the length `parseAccessKey` expects). */
export function newAccessRequestId(): string {
  return randomId(16);
}

/** The key an app gets for grant `id` with its `secret`. */
export function accessKey(id: string, secret: string): AccessKey {
  return { id, secret, value: `${id}${secret}` };
}

/** Splits a key; undefined when it cannot be one (wrong syntax, or no secret after the id). */
export function parseAccessKey(value: string): AccessKey | undefined {
  if (!KEY_PATTERN.test(value) || value.length <= ID_LENGTH) return undefined;
  return accessKey(value.slice(0, ID_LENGTH), value.slice(ID_LENGTH));
}

/**
 * The live auth request `key` names, if its secret is right (compared in constant time on the
 * grant the id names). An unknown id and a wrong secret are both undefined: callers answer the
 * same 404 for each, so a key cannot be confirmed part by part.
 */
export async function findAccessRequest(engine: GrantEngine, key: AccessKey | undefined): Promise<AccessGrant | undefined> {
  if (!key) return undefined;
  return (await engine.findWithSecret<AccessRequest, AccessResult>(ACCESS_KIND, key.id, key.secret)) as AccessGrant | undefined;
}
