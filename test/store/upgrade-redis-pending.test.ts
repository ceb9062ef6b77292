import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { openRedisStores, type RedisStores } from '../../src/store/redis/redis-stores.js';
import { createTestPrefix, REDIS_URL, redisMissing } from '../helpers/services.js';

const skip = await redisMissing();
const { prefix, cleanup } = createTestPrefix();
afterAll(async () => {
  if (!skip) await cleanup();
});

const KIND = 'pair';
const TTL_MS = 600_000;

/**
 * A grant as the Redis store of commit 7e41155 (before a90dd0d brought the pending set `P p:<kind>`)
 * wrote it: its create script set the hash, the code index, the kind's expiry set and the kinds
 * set, and no pending set; a decision only changed the hash's state.
 */
async function writeOldGrant(redis: Redis, id: string, state: string, now: number, expiresAt = now + TTL_MS): Promise<void> {
  const code = `code-hash-of-${id}`;
  await redis.hset(`${prefix}g:${id}`, 'id', id, 'kind', KIND, 'state', state, 'request', '{"label":"old"}', 'attempts', 0, 'version', state === 'pending' ? 1 : 2,
    'created', String(now), 'updated', String(now), 'expires', String(expiresAt), 'code', code, 'secret', `secret-hash-of-${id}`);
  await redis.set(`${prefix}c:${code}`, id, 'PX', Math.max(1, expiresAt - now));
  await redis.pexpire(`${prefix}g:${id}`, Math.max(1, expiresAt - now));
  await redis.zadd(`${prefix}k:${KIND}`, expiresAt, id);
  await redis.sadd(`${prefix}kinds`, KIND);
}

describe.skipIf(skip)('Redis grants written before the pending set (upgrade)', () => {
  it('counts the pending grants an older pairgate created, and only those still pending', async () => {
    const redis = new Redis(REDIS_URL);
    const now = Date.now();
    let stores: RedisStores | undefined;
    try {
      await writeOldGrant(redis, 'old-pending-1', 'pending', now);
      await writeOldGrant(redis, 'old-pending-2', 'pending', now);
      await writeOldGrant(redis, 'old-approved', 'approved', now);
      // Expired but not swept yet (Redis keeps the hash until its PX ends): not live, not counted.
      await writeOldGrant(redis, 'old-expired', 'pending', now - TTL_MS, now - 1);

      stores = await openRedisStores({ url: REDIS_URL, prefix });
      const { grants } = stores;
      expect(await grants.countPending(KIND, Date.now())).toBe(2);
      expect(await grants.countLive(KIND, Date.now())).toBe(3);
      // Still found by its code, and a decision takes it out of the count as for a new grant.
      const found = await grants.findByCode(KIND, 'code-hash-of-old-pending-1', Date.now());
      expect(found?.id).toBe('old-pending-1');
      await grants.update('old-pending-1', found!.version, { state: 'approved' }, Date.now());
      expect(await grants.countPending(KIND, Date.now())).toBe(1);
      const created = await grants.create({ id: 'new-pending', kind: KIND, codeHash: 'code-hash-of-new', ttlMs: TTL_MS, request: {} }, Date.now());
      expect(created.state).toBe('pending');
      expect(await grants.countPending(KIND, Date.now())).toBe(2);
    } finally {
      await stores?.close();
      redis.disconnect();
    }
  });

  it('leaves the count as it is when the store opens again (nothing counted twice)', async () => {
    const stores = await openRedisStores({ url: REDIS_URL, prefix });
    try {
      expect(await stores.grants.countPending(KIND, Date.now())).toBe(2);
    } finally {
      await stores.close();
    }
  });
  it('counts every one of thousands of old pending grants sharing one expiry', async () => {
    const redis = new Redis(REDIS_URL);
    const kind = 'tied';
    const expiresAt = Date.now() + TTL_MS;
    let stores: RedisStores | undefined;
    try {
      const batch = redis.pipeline();
      for (let i = 0; i < 2_500; i++) {
        const id = `tied-${i}`;
        batch.hset(`${prefix}g:${id}`, 'id', id, 'kind', kind, 'state', 'pending', 'request', '{}', 'attempts', 0, 'version', 1, 'created', '0', 'updated', '0', 'expires', String(expiresAt));
        batch.zadd(`${prefix}k:${kind}`, expiresAt, id);
      }
      batch.sadd(`${prefix}kinds`, kind);
      await batch.exec();
      stores = await openRedisStores({ url: REDIS_URL, prefix });
      // Read a page of a thousand by score at a time, the ids after the first thousand of one expiry were never reached.
      expect(await stores.grants.countPending(kind, Date.now())).toBe(2_500);
    } finally {
      await stores?.close();
      redis.disconnect();
    }
  });
});
