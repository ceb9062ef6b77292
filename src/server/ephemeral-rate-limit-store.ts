import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import { latestWindowEnd, type Clock } from '../core/clock.js';
import type { Redis } from 'ioredis';
import type { EphemeralStore, Stores } from '../store/ports.js';
import { monotonicRateLimitStore } from './monotonic-rate-limit-store.js';

/** Key prefix of the rate counters in the ephemeral store. */
const PREFIX = 'rl:';

/**
 * A @fastify/rate-limit store that counts in the ephemeral store port, for nodes that share
 * PostgreSQL but no Redis: every node increments the same row (one atomic upsert), so a limit holds
 * across them. The counters expire with their window and the ephemeral sweep removes them.
 */
export function ephemeralRateLimitStore(ephemeral: EphemeralStore, clock: Clock): FastifyRateLimitStoreCtor {
  class EphemeralRateLimitStore implements FastifyRateLimitStore {
    private readonly prefix: string;

    // The plugin constructs the global store with its options; children get their key prefix.
    constructor(options: unknown) {
      this.prefix = typeof options === 'string' ? options : PREFIX;
    }

    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number): void {
      const now = clock.now();
      // A window ending later than its length (and the tolerance) from now was opened by a clock
      // since stepped back, or by a node whose clock is far ahead: the increment restarts it from
      // now, its count kept, in the same atomic step (a read then a set lost the counts other
      // nodes made meanwhile), so it never lasts, nor tells a Retry-After, longer than that.
      ephemeral.increment(`${this.prefix}${key}`, timeWindow, now, latestWindowEnd(now, timeWindow)).then(
        ({ count, resetAt }) => callback(null, { current: count, ttl: Math.max(0, resetAt - now) }),
        (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
      );
    }

    child(routeOptions: { method?: unknown; url?: unknown; routeInfo?: { method?: string; url?: string } }): FastifyRateLimitStore {
      const method = routeOptions.routeInfo?.method ?? String(routeOptions.method ?? '');
      const url = routeOptions.routeInfo?.url ?? String(routeOptions.url ?? '');
      return new EphemeralRateLimitStore(`${this.prefix}${method}${url}-`);
    }
  }
  return EphemeralRateLimitStore as unknown as FastifyRateLimitStoreCtor;
}

/**
 * The @fastify/rate-limit options that make a limit count where every node counts (Redis, or the
 * ephemeral store: `Stores.rateLimit`), for the main server and any listener of a door alike; in
 * process memory (one node) without such a store, its windows on the monotonic clock
 * (`monotonicRateLimitStore`: the plugin's own memory store's follow the wall clock's steps).
 */
export function sharedRateLimitOptions(stores: Pick<Stores, 'rateLimit' | 'ephemeral'> | undefined, clock: Clock): { redis: Redis; nameSpace: string } | { store: FastifyRateLimitStoreCtor } {
  const shared = stores?.rateLimit;
  if (shared?.kind === 'redis') return { redis: shared.redis, nameSpace: shared.nameSpace };
  if (shared?.kind === 'ephemeral') return { store: ephemeralRateLimitStore(stores!.ephemeral, clock) };
  return { store: monotonicRateLimitStore() };
}
