import { randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type { Stores } from '../ports.js';
import { checkStoreUrl, isStoreUnreachable, storeStartError, type StoreSetting } from '../store-errors.js';
import { RedisEphemeralStore } from './redis-ephemeral-store.js';
import { RedisGrantStore } from './redis-grant-store.js';
import { RedisNotifier } from './redis-notifier.js';
import { indexPendingGrants } from './pending-index.js';

/** Options of the Redis store. */
export interface RedisStoreOptions {
  /** `redis://[:password@]host:6379[/db]` or `rediss://` for TLS. */
  url: string;
  /** Every key and channel starts with it, so several deployments (or test runs) share one Redis. */
  prefix: string;
}

/** What Redis serves: the ephemeral ports, plus the client the HTTP rate limit counts in. */
export type RedisStores = Omit<Stores, 'db'> & { rateLimit: { kind: 'redis'; redis: Redis; nameSpace: string } };

/**
 * Connection behaviour: commands fail at once while Redis is away (no offline queue, a command
 * timeout), so requests get a 503 instead of waiting, while the client keeps reconnecting in the
 * background and service resumes by itself. A command caught by a disconnect is never sent again:
 * its script may have run with the reply lost, and running a redemption or a counter twice would
 * be wrong; the caller gets a 503 and may retry knowingly.
 */
const COMMAND_OPTIONS: RedisOptions = {
  lazyConnect: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  connectTimeout: 3_000,
  commandTimeout: 3_000,
  retryStrategy: (times) => Math.min(100 * times, 2_000),
  // How long a closing socket may linger; its timer also held the process 2 s after a failed start.
  disconnectTimeout: 300,
};

/**
 * The connection name (CLIENT SETNAME) of the subscriber of the deployment with key `prefix`, so
 * that an operator (and a test) can tell it in CLIENT LIST. A name holds no spaces; ioredis ignores
 * a name Redis refuses.
 */
export function subscriberName(prefix: string): string {
  return `${prefix.replace(/[^\w:.-]/g, '_')}subscriber`;
}

/** How long the subscriber may sit connected without being ready before it is made to reconnect. */
const HANDSHAKE_TIMEOUT_MS = 5_000;

/**
 * Makes `subscriber` reconnect when it stays connected but not ready (status `connect`) past
 * HANDSHAKE_TIMEOUT_MS. The subscriber has no command timeout (it waits for messages, not
 * answers), and connectTimeout stops once TCP is up: a Redis that accepted the connection and then
 * hung (or a proxy or half-open path in front of it) left the ready check unanswered for good, the
 * node ready for requests but deaf to other nodes' changes until restarted. Returns the timer.
 */
function watchHandshake(subscriber: Redis): NodeJS.Timeout {
  let stuckSince: number | undefined;
  const timer = setInterval(() => {
    if (subscriber.status !== 'connect') {
      stuckSince = undefined;
      return;
    }
    stuckSince ??= Date.now();
    if (Date.now() - stuckSince < HANDSHAKE_TIMEOUT_MS) return;
    stuckSince = undefined;
    subscriber.disconnect(true);
  }, 1_000);
  timer.unref();
  return timer;
}

/**
 * Opens Redis: a command connection and a subscriber connection. Fails with the (password-
 * redacted) URL when Redis does not answer.
 */
export async function openRedisStores(options: RedisStoreOptions): Promise<RedisStores> {
  const setting: StoreSetting = { service: 'Redis', key: 'PAIRGATE_REDIS_URL', url: options.url };
  checkStoreUrl(setting, 'redis://:password@host:6379/0');
  const redis = new Redis(options.url, COMMAND_OPTIONS);
  // The subscriber queues its SUBSCRIBE until connected; the notifier subscribes again after each
  // reconnect itself: ioredis's own re-subscription leaves its promise unhandled, and a connection
  // closed before Redis answered it (a shutdown just after a reconnect) was an unhandled rejection.
  const subscriber = new Redis(options.url, {
    ...COMMAND_OPTIONS,
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    autoResendUnfulfilledCommands: true,
    autoResubscribe: false,
    commandTimeout: undefined,
    connectionName: subscriberName(options.prefix),
  });
  // Without 'error' listeners ioredis prints every failed reconnect; the state is read by ping().
  // The last one says why a start failed better than "Connection is closed".
  let lastError: unknown;
  redis.on('error', (error: unknown) => {
    lastError = error;
  });
  subscriber.on('error', () => {});
  const watchdog = watchHandshake(subscriber);
  const notifier = new RedisNotifier(redis, subscriber, options.prefix);
  try {
    await redis.connect();
    // ioredis selects the URL's database on connecting but only emits the refusal of a number
    // the server lacks (/99 of 16) as an event, then writes in database 0: asked again, it throws.
    if (redis.options.db) await redis.select(redis.options.db);
    await subscriber.connect();
    await notifier.start();
    // Grants an older pairgate created are in no pending set: counted by the caps from now on.
    await indexPendingGrants(redis, options.prefix, Date.now());
  } catch (error) {
    clearInterval(watchdog);
    redis.disconnect();
    subscriber.disconnect();
    throw storeStartError(setting, lastError ?? error);
  }
  const ephemeral = new RedisEphemeralStore(redis, options.prefix);
  return {
    grants: new RedisGrantStore(redis, options.prefix),
    ephemeral,
    notifier,
    bus: notifier,
    rateLimit: { kind: 'redis', redis, nameSpace: `${options.prefix}rl:` },
    sweepEphemeral: (now) => ephemeral.sweep(now),
    async sharedKey(name) {
      // SET NX: nodes starting at once each offer a key, the first wins, and all read it. No expiry.
      const key = `${options.prefix}server-key:${name}`;
      await redis.set(key, randomBytes(32).toString('base64'), 'NX');
      return Buffer.from((await redis.get(key)) ?? '', 'base64');
    },
    async ping() {
      try {
        await redis.ping();
      } catch (error) {
        // /readyz shows this to whoever asks: which store, never its address.
        throw new Error(isStoreUnreachable(error) ? 'Redis does not answer; this node reconnects by itself' : `Redis: ${(error as Error).message}`, { cause: error });
      }
      if (subscriber.status !== 'ready') throw new Error(`Redis subscriber is ${subscriber.status}; this node reconnects by itself`);
    },
    async close() {
      clearInterval(watchdog);
      await Promise.allSettled([redis.quit(), subscriber.quit()]);
      redis.disconnect();
      subscriber.disconnect();
    },
  };
}
