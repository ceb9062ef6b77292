import pg from 'pg';
import { Redis } from 'ioredis';
import { randomId } from '../../src/core/ids.js';
import { PG_LISTENER_NAME } from '../../src/store/postgres/pg-notifier.js';
import { subscriberName } from '../../src/store/redis/redis-stores.js';
import { unmetRequirement } from './system.js';

/**
 * The PostgreSQL and Redis that CI runs (127.0.0.1:5432 trust auth, 127.0.0.1:6379). Each test
 * gets its own database / key prefix, so parallel runs never collide, and removes it afterwards.
 * A service that does not answer skips the test with the reason locally and fails it under CI=true.
 */

/** Administrative URL of PostgreSQL (a database the tests may create others from). */
export const PG_ADMIN_URL = process.env.PAIRGATE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** URL of the shared Redis. */
export const REDIS_URL = process.env.PAIRGATE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Undefined when PostgreSQL answers, else the reason to skip (throws under CI). */
export async function postgresMissing(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 2_000 });
  client.on('error', () => {});
  let ok = false;
  try {
    await client.connect();
    await client.query('select 1');
    ok = true;
  } catch {
    ok = false;
  } finally {
    await client.end().catch(() => {});
  }
  return unmetRequirement(ok, `PostgreSQL does not answer at ${PG_ADMIN_URL}`);
}

/** Undefined when Redis answers, else the reason to skip (throws under CI). */
export async function redisMissing(): Promise<string | undefined> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, connectTimeout: 2_000 });
  redis.on('error', () => {});
  let ok = false;
  try {
    await redis.connect();
    ok = (await redis.ping()) === 'PONG';
  } catch {
    ok = false;
  } finally {
    redis.disconnect();
  }
  return unmetRequirement(ok, `Redis does not answer at ${REDIS_URL}`);
}

/** A fresh database of its own: its URL and a function that drops it. */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `pairgate_test_${randomId(9).toLowerCase().replace(/[^a-z0-9]/g, 'x')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: PG_ADMIN_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** A key prefix of its own and a function that deletes every key under it. */
export function createTestPrefix(): { prefix: string; cleanup(): Promise<void> } {
  const prefix = `pairgate-test:${randomId(9)}:`;
  return {
    prefix,
    async cleanup() {
      const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
      redis.on('error', () => {});
      try {
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length > 0) await redis.del(...keys);
        } while (cursor !== '0');
      } finally {
        redis.disconnect();
      }
    },
  };
}

/**
 * Ends the LISTEN connections of the nodes on database `url` (as a network cut would) and resolves
 * once they are gone, before any comes back (a listener reconnects 500 ms after it noticed).
 */
export async function dropPgListeners(url: string): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    const listeners = 'from pg_stat_activity where datname = current_database() and application_name = $1';
    const { rowCount } = await admin.query(`select pg_terminate_backend(pid) ${listeners}`, [PG_LISTENER_NAME]);
    if (!rowCount) throw new Error('no listening connection to drop');
    for (let i = 0; i < 100; i++) {
      const { rows } = await admin.query<{ n: string }>(`select count(*) as n ${listeners}`, [PG_LISTENER_NAME]);
      if (Number(rows[0]!.n) === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw new Error('the listening connections did not go');
  } finally {
    await admin.end();
  }
}

/** Kills the Redis subscriber connections of the nodes with key `prefix`; ioredis reconnects them after 100 ms. */
export async function dropRedisSubscribers(prefix: string): Promise<void> {
  const admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  admin.on('error', () => {});
  try {
    const clients = String(await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
    const ids = [...clients.matchAll(/^id=(\d+) .*\bname=(\S*)/gm)].filter((match) => match[2] === subscriberName(prefix)).map((match) => match[1]!);
    if (ids.length === 0) throw new Error(`no subscriber named ${subscriberName(prefix)} to drop`);
    for (const id of ids) await admin.call('CLIENT', 'KILL', 'ID', id);
  } finally {
    admin.disconnect();
  }
}

/** One way to run nodes: how many, the environment they share (and its removal), or why it is skipped. */
export interface StoreSetup {
  name: string;
  nodes: number;
  skip: string | undefined;
  env(): Promise<{ env: Record<string, string>; cleanup(): Promise<void> }>;
}

/**
 * The setups a cap or a race is tested on: one node on SQLite, two nodes sharing PostgreSQL, and two
 * sharing PostgreSQL and Redis (each with its own database and key prefix).
 */
export async function storeSetups(): Promise<StoreSetup[]> {
  const pgSkip = await postgresMissing();
  const redisSkip = await redisMissing();
  return [
    { name: 'one node on SQLite', nodes: 1, skip: undefined, env: async () => ({ env: {}, cleanup: async () => {} }) },
    {
      name: 'two nodes sharing PostgreSQL',
      nodes: 2,
      skip: pgSkip,
      env: async () => {
        const database = await createTestDatabase();
        return { env: { PAIRGATE_DATABASE_URL: database.url }, cleanup: () => database.drop() };
      },
    },
    {
      name: 'two nodes sharing PostgreSQL and Redis',
      nodes: 2,
      skip: pgSkip ?? redisSkip,
      env: async () => {
        const database = await createTestDatabase();
        const { prefix, cleanup } = createTestPrefix();
        return {
          env: { PAIRGATE_DATABASE_URL: database.url, PAIRGATE_REDIS_URL: REDIS_URL, PAIRGATE_REDIS_PREFIX: prefix },
          cleanup: async () => {
            await cleanup();
            await database.drop();
          },
        };
      },
    },
  ];
}
