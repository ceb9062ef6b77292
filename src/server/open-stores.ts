import type { Door } from '../doors/door.js';
import type { MigrationSet } from '../store/durable-schema.js';
import { coreMigrations } from '../store/migrations/core.js';
import type { MigrationReport } from '../store/migrate.js';
import type { Stores } from '../store/ports.js';
import type { RedisStores } from '../store/redis/redis-stores.js';
import { openSqliteStores } from '../store/sqlite/sqlite-stores.js';
import type { Config } from './config.js';

/** Every migration: the engine's and each door's. */
export function allMigrations(doors: readonly Door[]): MigrationSet {
  const set: MigrationSet = { ...coreMigrations };
  for (const door of doors) {
    for (const [name, migration] of Object.entries(door.migrations ?? {})) {
      if (name in set) throw new Error(`migration ${name} is declared twice`);
      set[name] = migration;
    }
  }
  return set;
}

/**
 * The names of every migration of this version: the doors this start serves and those it leaves
 * out (`--relay-only`), whose tables a database may hold; a database that ran any other was
 * migrated by a newer pairgate (`migrateToLatest`).
 */
async function everyKnownMigration(migrations: MigrationSet): Promise<Set<string>> {
  // Loaded here, not imported above: the door list imports the server's helpers.
  const { allDoors } = await import('../doors/index.js');
  return new Set([...Object.keys(migrations), ...Object.keys(allMigrations(allDoors))]);
}

/**
 * Opens the stores the configuration names: the wiring of adapters to ports happens here and
 * nowhere else.
 * - Durable data: PostgreSQL when PAIRGATE_DATABASE_URL is set, else SQLite in the data folder.
 * - Grants, ephemeral entries, wake-ups and rate limits: Redis when PAIRGATE_REDIS_URL is set;
 *   otherwise the durable database holds them: PostgreSQL wakes other nodes with LISTEN/NOTIFY and
 *   counts rate limits in its ephemeral table; SQLite (one node) wakes and counts in process.
 * A service that does not answer fails start-up with its URL, password redacted.
 *
 * `onMigrated` hears what the durable database's migrations did as soon as they are done: before
 * Redis is opened, so that a start that upgraded the database and then failed (Redis away, a bad
 * URL) still says so; the next start, finding nothing to do, would say nothing.
 */
export async function openStores(config: Config, doors: readonly Door[], onMigrated?: (report: MigrationReport) => void): Promise<Stores> {
  const migrations = allMigrations(doors);
  const knownMigrations = await everyKnownMigration(migrations);
  // pg and ioredis load only when configured: the embedded default starts without them.
  let durable: Stores;
  if (config.PAIRGATE_DATABASE_URL) {
    const { openPostgresStores } = await import('../store/postgres/postgres-stores.js');
    durable = await openPostgresStores({
      url: config.PAIRGATE_DATABASE_URL,
      migrations,
      knownMigrations,
      poolSize: config.PAIRGATE_DATABASE_POOL_SIZE,
      notify: !config.PAIRGATE_REDIS_URL,
    });
  } else {
    durable = await openSqliteStores({ dataDir: config.PAIRGATE_DATA_DIR, migrations, knownMigrations, sync: config.PAIRGATE_SQLITE_SYNC });
  }
  if (durable.migrated) onMigrated?.(durable.migrated);
  if (!config.PAIRGATE_REDIS_URL) return durable;
  let redis: RedisStores;
  try {
    const { openRedisStores } = await import('../store/redis/redis-stores.js');
    redis = await openRedisStores({ url: config.PAIRGATE_REDIS_URL, prefix: config.PAIRGATE_REDIS_PREFIX });
  } catch (error) {
    await durable.close();
    throw error;
  }
  return {
    db: durable.db,
    grants: redis.grants,
    ephemeral: redis.ephemeral,
    notifier: redis.notifier,
    bus: redis.bus,
    rateLimit: redis.rateLimit,
    sweepEphemeral: (now) => redis.sweepEphemeral(now),
    // Kept with the grants the code key hashes: in Redis.
    ...(redis.sharedKey ? { sharedKey: redis.sharedKey } : {}),
    ...(durable.backup ? { backup: durable.backup } : {}),
    ...(durable.migrated ? { migrated: durable.migrated } : {}),
    async ping() {
      // Both asked, both told: /readyz names every store that is away, not the first.
      const failures = (await Promise.allSettled([durable.ping(), redis.ping()])).flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []));
      if (failures.length === 1) throw failures[0];
      if (failures.length > 1) throw new Error(failures.map((failure) => (failure as Error).message).join('; '), { cause: failures[0] });
    },
    async close() {
      await Promise.allSettled([redis.close(), durable.close()]);
    },
  };
}
