import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * The Lua scripts of the Redis adapter. Every write that must be atomic (unique code allocation,
 * compare-and-set, single-use redemption, counters, sweeping) is one script: Redis runs a script
 * without interleaving any other command, which is what a SQL `UPDATE ... WHERE ... RETURNING` gives
 * the SQL adapter. Scripts check everything before writing anything (Redis does not roll back a
 * script that fails midway).
 *
 * Times come in as strings of milliseconds and are written back as given: Lua numbers would turn
 * them into `1.7e+12`. Counters use HINCRBY. Keys built inside scripts start with the prefix passed
 * as ARGV[1], so this adapter targets one Redis server (or a primary with replicas), not a cluster.
 */

/** Removes a grant and the index entries that still point at it. */
const DROP_GRANT = `
local function drop(P, gid)
  local g = P .. 'g:' .. gid
  local f = redis.call('HMGET', g, 'kind', 'code')
  if f[2] and redis.call('GET', P .. 'c:' .. f[2]) == gid then redis.call('DEL', P .. 'c:' .. f[2]) end
  if f[1] then
    redis.call('ZREM', P .. 'k:' .. f[1], gid)
    redis.call('ZREM', P .. 'p:' .. f[1], gid)
  end
  return redis.call('DEL', g)
end
`;

/** KEYS: grant. ARGV: prefix, id, kind, codeHash|'', secretHash|'', request, now, expiresAt, ttlMs. */
const CREATE = `${DROP_GRANT}
local P, id, kind, code, secret = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local now, ttl = tonumber(ARGV[7]), ARGV[9]
local existing = redis.call('HGET', KEYS[1], 'expires')
if existing and tonumber(existing) > now then return 'id' end
local holder = false
if code ~= '' then
  holder = redis.call('GET', P .. 'c:' .. code)
  if holder then
    local h = redis.call('HMGET', P .. 'g:' .. holder, 'expires', 'code')
    if h[1] and h[2] == code and tonumber(h[1]) > now then return 'code' end
  end
end
if existing then drop(P, id) end
if holder and holder ~= id then
  local h = redis.call('HGET', P .. 'g:' .. holder, 'code')
  if h == code then drop(P, holder) end
end
redis.call('HSET', KEYS[1], 'id', id, 'kind', kind, 'state', 'pending', 'request', ARGV[6], 'attempts', 0, 'version', 1,
  'created', ARGV[7], 'updated', ARGV[7], 'expires', ARGV[8])
if code ~= '' then
  redis.call('HSET', KEYS[1], 'code', code)
  redis.call('SET', P .. 'c:' .. code, id, 'PX', ttl)
end
if secret ~= '' then redis.call('HSET', KEYS[1], 'secret', secret) end
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('ZADD', P .. 'k:' .. kind, ARGV[8], id)
redis.call('ZADD', P .. 'p:' .. kind, ARGV[8], id)
redis.call('SADD', P .. 'kinds', kind)
return 'ok'
`;

/** KEYS: index key (a code's). ARGV: prefix. The grant the index names, as HGETALL. */
const FIND_BY_INDEX = `
local id = redis.call('GET', KEYS[1])
if not id then return false end
return redis.call('HGETALL', ARGV[1] .. 'g:' .. id)
`;

/**
 * KEYS: grant. ARGV: prefix, id, expectedVersion, now, newExpiresAt|'', codeOp (''|'set'|'clear'),
 * newCode, resultOp (''|'clear'), then field/value pairs (state, request, result).
 * Returns the grant as HGETALL, false when stale or expired, 'code' when the new code is taken.
 */
const UPDATE = `
local P, id, now = ARGV[1], ARGV[2], tonumber(ARGV[4])
local g = KEYS[1]
local cur = redis.call('HMGET', g, 'version', 'expires', 'kind', 'code')
if not cur[1] or cur[1] ~= ARGV[3] or tonumber(cur[2]) <= now then return false end
local codeOp, newCode = ARGV[6], ARGV[7]
if codeOp == 'set' and newCode ~= cur[4] then
  local holder = redis.call('GET', P .. 'c:' .. newCode)
  if holder and holder ~= id then
    local h = redis.call('HMGET', P .. 'g:' .. holder, 'expires', 'code')
    if h[1] and h[2] == newCode and tonumber(h[1]) > now then return 'code' end
  end
end
local expires = cur[2]
if ARGV[5] ~= '' then expires = ARGV[5] end
local ttl = math.max(1, tonumber(expires) - now)
if codeOp ~= '' and cur[4] and cur[4] ~= newCode then
  if redis.call('GET', P .. 'c:' .. cur[4]) == id then redis.call('DEL', P .. 'c:' .. cur[4]) end
end
if codeOp == 'clear' then redis.call('HDEL', g, 'code') end
if codeOp == 'set' then
  redis.call('HSET', g, 'code', newCode)
  redis.call('SET', P .. 'c:' .. newCode, id, 'PX', string.format('%d', ttl))
end
if ARGV[8] == 'clear' then redis.call('HDEL', g, 'result') end
for i = 9, #ARGV, 2 do redis.call('HSET', g, ARGV[i], ARGV[i + 1]) end
redis.call('HSET', g, 'updated', ARGV[4], 'expires', expires)
redis.call('HINCRBY', g, 'version', 1)
if ARGV[5] ~= '' then
  local px = string.format('%d', ttl)
  redis.call('PEXPIRE', g, px)
  local code = redis.call('HGET', g, 'code')
  if code and redis.call('GET', P .. 'c:' .. code) == id then redis.call('PEXPIRE', P .. 'c:' .. code, px) end
  redis.call('ZADD', P .. 'k:' .. cur[3], expires, id)
end
if redis.call('HGET', g, 'state') == 'pending' then
  if ARGV[5] ~= '' then redis.call('ZADD', P .. 'p:' .. cur[3], expires, id) end
else
  redis.call('ZREM', P .. 'p:' .. cur[3], id)
end
return redis.call('HGETALL', g)
`;

/** KEYS: grant. ARGV: prefix, id, now. Approved and live -> redeemed (code spent), else false. */
const REDEEM = `
local P, id, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local g = KEYS[1]
local cur = redis.call('HMGET', g, 'state', 'expires', 'code')
if cur[1] ~= 'approved' or not cur[2] or tonumber(cur[2]) <= now then return false end
if cur[3] then
  if redis.call('GET', P .. 'c:' .. cur[3]) == id then redis.call('DEL', P .. 'c:' .. cur[3]) end
  redis.call('HDEL', g, 'code')
end
redis.call('HSET', g, 'state', 'redeemed', 'updated', ARGV[3])
redis.call('HINCRBY', g, 'version', 1)
return redis.call('HGETALL', g)
`;

/** KEYS: grant. ARGV: now. One more failed attempt; 0 when the grant is gone. */
const FAILED_ATTEMPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'updated', ARGV[1])
return redis.call('HINCRBY', KEYS[1], 'attempts', 1)
`;

/** ARGV: prefix, id. 1 when the grant existed. */
const DELETE = `${DROP_GRANT}
return drop(ARGV[1], ARGV[2])
`;

/**
 * KEYS: kinds set. ARGV: prefix, now, limit per kind. Deletes grants expired at `now` and returns
 * {kind, count, ...}. A grant Redis already dropped by its TTL still has its entry in the kind's
 * sorted set, so it is counted here, exactly once across all nodes.
 */
const SWEEP = `${DROP_GRANT}
local P, now, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
local out = {}
for _, kind in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local zk = P .. 'k:' .. kind
  -- Pending grants Redis dropped by their TTL are gone from the hash drop() reads: by score here.
  redis.call('ZREMRANGEBYSCORE', P .. 'p:' .. kind, '-inf', now)
  local n = 0
  for _, gid in ipairs(redis.call('ZRANGEBYSCORE', zk, '-inf', now, 'LIMIT', 0, limit)) do
    local expires = redis.call('HGET', P .. 'g:' .. gid, 'expires')
    if expires and tonumber(expires) > tonumber(now) then
      redis.call('ZADD', zk, expires, gid)
    else
      drop(P, gid)
      redis.call('ZREM', zk, gid)
      n = n + 1
    end
  end
  if n > 0 then
    table.insert(out, kind)
    table.insert(out, n)
  end
  if redis.call('ZCARD', zk) == 0 then redis.call('SREM', KEYS[1], kind) end
end
return out
`;

/**
 * KEYS: the kind's pending set. ARGV: prefix, now, then ids of the kind's expiry set. Adds each id
 * whose grant is live and still pending to the pending set (kept as is when there); returns how
 * many it added. Checked and added in one script, so a decision on another node (which takes the
 * id out) cannot fall between the read and the write and leave a decided grant counted.
 */
const INDEX_PENDING = `
local P, now, n = ARGV[1], tonumber(ARGV[2]), 0
for i = 3, #ARGV do
  local f = redis.call('HMGET', P .. 'g:' .. ARGV[i], 'state', 'expires')
  if f[1] == 'pending' and f[2] and tonumber(f[2]) > now then
    n = n + redis.call('ZADD', KEYS[1], 'NX', f[2], ARGV[i])
  end
end
return n
`;

/**
 * KEYS: entry, key index, expiry index. ARGV: now, ttlMs, expiresAt if new, key, latestEnd.
 * {count, expiresAt}. A live counter ending after latestEnd (a clock since stepped back opened it)
 * keeps its count and ends at expiresAt, in this same script: no increment at once is lost.
 */
const INCREMENT = `
local x = redis.call('HGET', KEYS[1], 'x')
if x and tonumber(x) > tonumber(ARGV[1]) then
  local n = redis.call('HINCRBY', KEYS[1], 'v', 1)
  if tonumber(x) <= tonumber(ARGV[5]) then return {n, x} end
  redis.call('HSET', KEYS[1], 'x', ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
  return {n, ARGV[3]}
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', 1, 'x', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
return {1, ARGV[3]}
`;

/** KEYS: entry. ARGV: now. Takes one from a live counter above zero, keeping its end. */
const DECREMENT = `
local f = redis.call('HMGET', KEYS[1], 'v', 'x')
if f[2] and tonumber(f[2]) > tonumber(ARGV[1]) and tonumber(f[1]) > 0 then
  redis.call('HINCRBY', KEYS[1], 'v', -1)
end
return 0
`;

/** KEYS: entry, key index, expiry index. ARGV: now, ttlMs, expiresAt, key, value, onlyIfAbsent. */
const SET = `
if ARGV[6] == '1' then
  local x = redis.call('HGET', KEYS[1], 'x')
  if x and tonumber(x) > tonumber(ARGV[1]) then return 0 end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', ARGV[5], 'x', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
return 1
`;

/** KEYS: entry, key index, expiry index. ARGV: key. Reads and deletes: {value, expiresAt} or false. */
const TAKE = `
local f = redis.call('HMGET', KEYS[1], 'v', 'x')
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
if not f[1] then return false end
return f
`;

/**
 * KEYS: entry, key index, expiry index. ARGV: now, ttlMs, expiresAt, key, value. 1 when the live
 * entry held the value and now ends at expiresAt (its value kept), else 0 (nothing written): the
 * check of the holder and the renewal are one step (`EphemeralStore.renewIfHeld`).
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
 * value and is deleted with its index members, else 0 (nothing deleted): the check of the holder
 * and the delete are one step (`EphemeralStore.deleteIfHeld`).
 */
const DELETE_IF_HELD = `
local f = redis.call('HMGET', KEYS[1], 'v', 'x')
if not f[1] or not f[2] or f[1] ~= ARGV[3] or tonumber(f[2]) <= tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('ZREM', KEYS[3], ARGV[2])
return 1
`;

/** KEYS: key index, expiry index. ARGV: entry prefix, now, limit. Deletes expired entries; how many. */
const SWEEP_EPHEMERAL = `
local n = 0
for _, key in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))) do
  local x = redis.call('HGET', ARGV[1] .. key, 'x')
  if x and tonumber(x) > tonumber(ARGV[2]) then
    redis.call('ZADD', KEYS[2], x, key)
  else
    redis.call('DEL', ARGV[1] .. key)
    redis.call('ZREM', KEYS[1], key)
    redis.call('ZREM', KEYS[2], key)
    n = n + 1
  end
end
return n
`;

/** The scripts by name. */
export const SCRIPTS = {
  create: CREATE,
  findByIndex: FIND_BY_INDEX,
  update: UPDATE,
  redeem: REDEEM,
  failedAttempt: FAILED_ATTEMPT,
  delete: DELETE,
  sweep: SWEEP,
  indexPending: INDEX_PENDING,
  increment: INCREMENT,
  decrement: DECREMENT,
  set: SET,
  take: TAKE,
  renewIfHeld: RENEW_IF_HELD,
  deleteIfHeld: DELETE_IF_HELD,
  sweepEphemeral: SWEEP_EPHEMERAL,
} as const;

/** A script's name. */
export type ScriptName = keyof typeof SCRIPTS;

const SHAS = Object.fromEntries(Object.entries(SCRIPTS).map(([name, body]) => [name, createHash('sha1').update(body).digest('hex')])) as Record<ScriptName, string>;

/**
 * Runs a script by its SHA-1 (EVALSHA), loading it with EVAL the first time a server does not know
 * it (a fresh or restarted Redis answers NOSCRIPT).
 */
export async function runScript(redis: Redis, name: ScriptName, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
  try {
    return await redis.evalsha(SHAS[name], keys.length, ...keys, ...args);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return redis.eval(SCRIPTS[name], keys.length, ...keys, ...args);
  }
}
