import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coreMigrations } from '../../src/store/migrations/core.js';
import { openPostgresStores } from '../../src/store/postgres/postgres-stores.js';
import type { EphemeralStore, Stores } from '../../src/store/ports.js';
import { openRedisStores } from '../../src/store/redis/redis-stores.js';
import { openSqliteStores } from '../../src/store/sqlite/sqlite-stores.js';
import { createTestDatabase, createTestPrefix, postgresMissing, REDIS_URL, redisMissing } from '../helpers/services.js';

/** The ephemeral stores of the nodes of one adapter, and what removes them. */
export interface OpenedEphemeral {
  /** One store per node: one on SQLite, two sharing the backing service on PostgreSQL and Redis. */
  nodes: EphemeralStore[];
  close(): Promise<void>;
}

/** One ephemeral store adapter to run a test on, or why it is skipped. */
export interface EphemeralAdapter {
  name: string;
  skip: string | undefined;
  open(): Promise<OpenedEphemeral>;
}

/** Closes `stores`, then runs `cleanup`. */
async function closing(stores: Pick<Stores, 'close'>[], cleanup: () => Promise<void>): Promise<void> {
  for (const opened of stores) await opened.close();
  await cleanup();
}

/**
 * Every ephemeral store adapter, each on a backing service of its own (a data folder, a database,
 * a key prefix): for tests of what is built on the port (failure budgets, the shared rate limit)
 * that must hold on each, the shared ones seen from two nodes.
 */
export async function ephemeralAdapters(): Promise<EphemeralAdapter[]> {
  const pgSkip = await postgresMissing();
  const redisSkip = await redisMissing();
  return [
    {
      name: 'SQLite',
      skip: undefined,
      open: async () => {
        const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-ephemeral-'));
        const stores = await openSqliteStores({ dataDir, migrations: coreMigrations });
        return { nodes: [stores.ephemeral], close: () => closing([stores], async () => rmSync(dataDir, { recursive: true, force: true })) };
      },
    },
    {
      name: 'PostgreSQL, two nodes',
      skip: pgSkip,
      open: async () => {
        const database = await createTestDatabase();
        const stores = [await openPostgresStores({ url: database.url, migrations: coreMigrations }), await openPostgresStores({ url: database.url, migrations: coreMigrations })];
        return { nodes: stores.map((opened) => opened.ephemeral), close: () => closing(stores, () => database.drop()) };
      },
    },
    {
      name: 'Redis, two nodes',
      skip: redisSkip,
      open: async () => {
        const { prefix, cleanup } = createTestPrefix();
        const stores = [await openRedisStores({ url: REDIS_URL, prefix }), await openRedisStores({ url: REDIS_URL, prefix })];
        return { nodes: stores.map((opened) => opened.ephemeral), close: () => closing(stores, cleanup) };
      },
    },
  ];
}
