import { createRequire } from 'node:module';
import type { FastifyRateLimitOptions, FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
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

/** The plugin's own Redis store (not exported by its entry point), which the Redis limits count with. */
type RedisStoreCtor = new (continueExceeding: boolean, exponentialBackoff: boolean, redis: Redis, key?: string) => FastifyRateLimitStore;
const loadRedisStore = (): RedisStoreCtor => createRequire(import.meta.url)('@fastify/rate-limit/store/RedisStore.js') as RedisStoreCtor;

/** A route's limit as the plugin hands it to `child`: its options, and the route. */
type ChildOptions = Parameters<FastifyRateLimitStore['child']>[0] & { groupId?: unknown };

/**
 * `Root` where the routes whose limit names the same `groupId` count together: one child store for
 * the group, not one per route. The plugin makes a child per route (its key prefix the route's
 * method and path) and only appends the `groupId` to the key, so routes sharing a limit's options
 * (the code look-ups of one door: `CodeGuard.rateLimit`) each counted their own `max`, and so did
 * the HEAD route Fastify adds beside every GET: the generic grants' GET, HEAD, approve and refuse
 * let a network make four times PAIRGATE_CODE_LOOKUPS_PER_MINUTE, where the brute-force check at
 * start-up counts it once. Routes without a group count apart, as before.
 */
export function groupedRouteLimits(Root: FastifyRateLimitStoreCtor): FastifyRateLimitStoreCtor {
  class GroupedRouteLimits implements FastifyRateLimitStore {
    private readonly root: FastifyRateLimitStore;
    private readonly groups = new Map<string, FastifyRateLimitStore>();

    constructor(options: FastifyRateLimitOptions) {
      this.root = new Root(options);
    }

    incr(...args: Parameters<FastifyRateLimitStore['incr']>): void {
      this.root.incr(...args);
    }

    child(routeOptions: ChildOptions): FastifyRateLimitStore {
      const group = routeOptions.groupId;
      if (typeof group !== 'string' || group === '') return this.root.child(routeOptions);
      let child = this.groups.get(group);
      if (!child) {
        // Keyed by the group, not by the first route that names it (the plugin appends the group to each key too).
        child = this.root.child({ ...routeOptions, routeInfo: { method: '', url: `group:${group}` } } as never);
        this.groups.set(group, child);
      }
      return child;
    }
  }
  return GroupedRouteLimits as unknown as FastifyRateLimitStoreCtor;
}

/**
 * The @fastify/rate-limit options that make a limit count where every node counts (Redis, or the
 * ephemeral store: `Stores.rateLimit`), for the main server and any listener of a door alike; in
 * process memory (one node) without such a store, its windows on the monotonic clock
 * (`monotonicRateLimitStore`: the plugin's own memory store's follow the wall clock's steps).
 * Either way the routes of one `groupId` share one count (`groupedRouteLimits`).
 */
export function sharedRateLimitOptions(stores: Pick<Stores, 'rateLimit' | 'ephemeral'> | undefined, clock: Clock): { store: FastifyRateLimitStoreCtor } {
  const shared = stores?.rateLimit;
  if (shared?.kind === 'redis') {
    const RedisStore = loadRedisStore();
    const { redis, nameSpace } = shared;
    // What the plugin makes of its `redis` and `nameSpace` options.
    class SharedRedisStore {
      constructor(options: { continueExceeding?: boolean; exponentialBackoff?: boolean }) {
        return new RedisStore(options.continueExceeding ?? false, options.exponentialBackoff ?? false, redis, nameSpace);
      }
    }
    return { store: groupedRouteLimits(SharedRedisStore as unknown as FastifyRateLimitStoreCtor) };
  }
  if (shared?.kind === 'ephemeral') return { store: groupedRouteLimits(ephemeralRateLimitStore(stores!.ephemeral, clock)) };
  return { store: groupedRouteLimits(monotonicRateLimitStore()) };
}
