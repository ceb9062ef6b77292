import type { Redis } from 'ioredis';
import { ANY_END, type EphemeralStore } from '../ports.js';
import { runScript } from './redis-scripts.js';

/** Most expired entries one sweep removes. */
const SWEEP_LIMIT = 5_000;

/**
 * Ephemeral entries in Redis: `P e:<key>` is a hash {v: value, x: expiresAt} with a PX TTL; `P ek`
 * (all keys, score 0, for prefix listing by ZRANGEBYLEX) and `P ee` (keys by expiry, for sweeping)
 * index them. Reads compare `x` with the caller's `now`, like the SQL adapter.
 */
export class RedisEphemeralStore implements EphemeralStore {
  readonly shared = true;
  private readonly keyIndex: string;
  private readonly expiryIndex: string;
  private readonly entryPrefix: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keyIndex = `${prefix}ek`;
    this.expiryIndex = `${prefix}ee`;
    this.entryPrefix = `${prefix}e:`;
  }

  private keys(key: string): string[] {
    return [this.entryPrefix + key, this.keyIndex, this.expiryIndex];
  }

  async increment(key: string, ttlMs: number, now: number, latestEnd = ANY_END): Promise<{ count: number; resetAt: number }> {
    const args = [String(now), String(ttlMs), String(now + ttlMs), key, String(latestEnd)];
    const [count, resetAt] = (await runScript(this.redis, 'increment', this.keys(key), args)) as [number, string];
    return { count: Number(count), resetAt: Number(resetAt) };
  }

  async decrement(key: string, now: number): Promise<void> {
    await runScript(this.redis, 'decrement', [this.entryPrefix + key], [String(now)]);
  }

  async set(key: string, value: string, ttlMs: number, now: number): Promise<void> {
    await runScript(this.redis, 'set', this.keys(key), [String(now), String(ttlMs), String(now + ttlMs), key, value, '0']);
  }

  async setIfAbsent(key: string, value: string, ttlMs: number, now: number): Promise<boolean> {
    return Number(await runScript(this.redis, 'set', this.keys(key), [String(now), String(ttlMs), String(now + ttlMs), key, value, '1'])) === 1;
  }

  async get(key: string, now: number): Promise<string | undefined> {
    const [value, expiresAt] = await this.redis.hmget(this.entryPrefix + key, 'v', 'x');
    return value !== null && Number(expiresAt) > now ? value : undefined;
  }

  async take(key: string, now: number): Promise<string | undefined> {
    const reply = (await runScript(this.redis, 'take', this.keys(key), [key])) as [string, string] | null;
    return reply && Number(reply[1]) > now ? reply[0] : undefined;
  }

  async delete(key: string): Promise<void> {
    await this.redis.multi().del(this.entryPrefix + key).zrem(this.keyIndex, key).zrem(this.expiryIndex, key).exec();
  }

  async renewIfHeld(key: string, value: string, ttlMs: number, now: number): Promise<boolean> {
    return Number(await runScript(this.redis, 'renewIfHeld', this.keys(key), [String(now), String(ttlMs), String(now + ttlMs), key, value])) === 1;
  }

  async deleteIfHeld(key: string, value: string, now: number): Promise<boolean> {
    return Number(await runScript(this.redis, 'deleteIfHeld', this.keys(key), [String(now), key, value])) === 1;
  }

  async list(prefix: string, now: number): Promise<{ key: string; value: string; expiresAt: number }[]> {
    // Keys are UTF-8, whose bytes never reach 0xff: `prefix + 0xff` bounds every key with the prefix.
    const upper = Buffer.concat([Buffer.from(`[${prefix}`, 'utf8'), Buffer.from([0xff])]);
    const keys = await this.redis.zrangebylex(this.keyIndex, `[${prefix}`, upper);
    if (keys.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const key of keys) pipeline.hmget(this.entryPrefix + key, 'v', 'x');
    const replies = (await pipeline.exec()) ?? [];
    const entries: { key: string; value: string; expiresAt: number }[] = [];
    keys.forEach((key, i) => {
      const [error, fields] = replies[i] ?? [];
      if (error) throw error;
      const [value, expiresAt] = fields as [string | null, string | null];
      if (value !== null && Number(expiresAt) > now) entries.push({ key, value, expiresAt: Number(expiresAt) });
    });
    return entries;
  }

  /** Deletes expired entries and their index members; returns how many. */
  async sweep(now: number): Promise<number> {
    return Number(await runScript(this.redis, 'sweepEphemeral', [this.keyIndex, this.expiryIndex], [this.entryPrefix, String(now), SWEEP_LIMIT]));
  }
}
