import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * The Lua scripts of the Redis ephemeral store's conditional renewal and release of a hold (see
 * `EphemeralStore.renewIfHeld` and `deleteIfHeld`): the check of the holder and the write are one
 * script, which Redis runs without interleaving any other command. Entries are stored as
 * `redis-ephemeral-store.ts` says: a hash {v: value, x: expiresAt} with a PX TTL, indexed by key
 * and by expiry. Kept apart from `redis-scripts.ts` (the adapter's other scripts), run the same way.
 */

/**
 * KEYS: entry, key index, expiry index. ARGV: now, ttlMs, expiresAt, key, value. 1 when the live
 * entry held the value and now ends at expiresAt (its value kept), else 0 (nothing written).
 */
const RENEW_IF_HELD = `
local f = redis.call('HMGET', KEYS[1], 'v', 'x')
if not f[1] or not f[2] or f[1] ~= ARGV[5] or tonumber(f[2]) <= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'x', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
return 1
`;

/**
 * KEYS: entry, key index, expiry index. ARGV: now, key, value. 1 when the live entry held the
 * value and is deleted with its index members, else 0 (nothing deleted).
 */
const DELETE_IF_HELD = `
local f = redis.call('HMGET', KEYS[1], 'v', 'x')
if not f[1] or not f[2] or f[1] ~= ARGV[3] or tonumber(f[2]) <= tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('ZREM', KEYS[3], ARGV[2])
return 1
`;

/** The scripts by name. */
export const HOLD_SCRIPTS = { renewIfHeld: RENEW_IF_HELD, deleteIfHeld: DELETE_IF_HELD } as const;

const SHAS = Object.fromEntries(Object.entries(HOLD_SCRIPTS).map(([name, body]) => [name, createHash('sha1').update(body).digest('hex')])) as Record<
  keyof typeof HOLD_SCRIPTS,
  string
>;

/**
 * Runs a hold script by its SHA-1 (EVALSHA), loading it with EVAL the first time a server does not
 * know it (a fresh or restarted Redis answers NOSCRIPT); returns whether it did its write.
 */
export async function runHoldScript(redis: Redis, name: keyof typeof HOLD_SCRIPTS, keys: readonly string[], args: readonly string[]): Promise<boolean> {
  let reply: unknown;
  try {
    reply = await redis.evalsha(SHAS[name], keys.length, ...keys, ...args);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    reply = await redis.eval(HOLD_SCRIPTS[name], keys.length, ...keys, ...args);
  }
  return Number(reply) === 1;
}
