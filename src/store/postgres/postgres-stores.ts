import pg from 'pg';
import { Kysely, PostgresDialect, sql } from 'kysely';
import type { Database, MigrationSet } from '../durable-schema.js';
import { MemoryNotifier } from '../memory/memory-notifier.js';
import { migrateToLatest, type MigrationReport } from '../migrate.js';
import type { Stores } from '../ports.js';
import { SqlEphemeralStore } from '../sql/sql-ephemeral-store.js';
import { SqlGrantStore, type UniqueViolation } from '../sql/sql-grant-store.js';
import { sharedKeyInTable } from '../sql/server-keys.js';
import { checkStoreUrl, isStoreRefusal, isStoreUnreachable, storeStartError, type StoreSetting } from '../store-errors.js';
import { PgNotifier } from './pg-notifier.js';

/** Options of the PostgreSQL store. */
export interface PostgresStoreOptions {
  /** `postgres://user:password@host:5432/database` (any libpq-style URL pg accepts). */
  url: string;
  migrations: MigrationSet;
  /**
   * Every migration this version of pairgate knows, those of doors this start leaves out too
   * (`--relay-only`): see `migrateToLatest`. Default: `migrations` only.
   */
  knownMigrations?: ReadonlySet<string>;
  /** Largest number of pooled connections of this node. */
  poolSize?: number;
  /**
   * Wake other nodes through LISTEN/NOTIFY (default true). Off when Redis carries grants and
   * wake-ups: then no listening connection is held.
   */
  notify?: boolean;
}

/**
 * Migrations only PostgreSQL needs. The ephemeral store lists keys by range (`key >= prefix and
 * key < prefix || U+FFFF`), which is right only under a byte-order collation; a database created
 * with a language collation (en_US.UTF-8) would sort punctuation differently, so the key column is
 * pinned to the "C" collation.
 */
export const postgresMigrations: MigrationSet = {
  '2026112201_postgres_ephemeral_key_collation': {
    async up(db) {
      await sql`ALTER TABLE ephemeral ALTER COLUMN key TYPE text COLLATE "C"`.execute(db);
    },
  },
};

const pgUniqueViolation: UniqueViolation = (error) => {
  const { code, constraint } = error as { code?: string; constraint?: string };
  if (code !== '23505') return undefined;
  if (constraint === 'grants_code_hash') return 'code';
  if (constraint === 'grants_pkey') return 'id';
  return undefined;
};

/**
 * Opens PostgreSQL: a connection pool, migrations (the same as SQLite's, plus the collation above;
 * concurrent nodes serialise on Kysely's migration lock), grants and ephemeral entries in its tables
 * and wake-ups by LISTEN/NOTIFY. Fails with the (password-redacted) URL when it does not answer.
 */
export async function openPostgresStores(options: PostgresStoreOptions): Promise<Stores> {
  const setting: StoreSetting = { service: 'PostgreSQL', key: 'PAIRGATE_DATABASE_URL', url: options.url };
  checkStoreUrl(setting, 'postgres://user:password@host:5432/database');
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    // Fail fast when PostgreSQL is away, so requests get a 503 instead of hanging.
    connectionTimeoutMillis: 3_000,
    // A server that vanished without closing the socket (a partition) would hold a query forever.
    query_timeout: 10_000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
  });
  // An idle pooled connection that dies emits 'error' on the pool: without a listener, a crash.
  pool.on('error', () => {});
  // One checked out (a query or a transaction in flight) emits it on the client, which pg-pool
  // leaves without a listener meanwhile: PostgreSQL restarting mid-query crashed the node. The
  // query itself fails (a 503), and pg-pool drops the broken client when it is released.
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const notify = options.notify ?? true;
  const ephemeral = new SqlEphemeralStore(db);
  const notifier = notify ? new PgNotifier(options.url, db, ephemeral) : undefined;
  try {
    await sql`select 1`.execute(db);
  } catch (error) {
    await db.destroy().catch(() => {});
    throw storeStartError(setting, error);
  }
  let migrated: MigrationReport;
  try {
    migrated = await migrateToLatest(db as Kysely<unknown>, { ...options.migrations, ...postgresMigrations }, options.knownMigrations);
    await notifier?.start();
  } catch (error) {
    await notifier?.close();
    await db.destroy().catch(() => {});
    // A user without the right to create tables is a setting to change, said with the key.
    throw isStoreRefusal(error) ? storeStartError(setting, error) : error;
  }
  const local = notifier ? undefined : new MemoryNotifier();
  return {
    db,
    grants: new SqlGrantStore(db, pgUniqueViolation),
    notifier: notifier ?? local!,
    bus: notifier ?? local!,
    ephemeral,
    // Nodes sharing only PostgreSQL share their rate counts there too.
    ...(notify ? { rateLimit: { kind: 'ephemeral' as const } } : {}),
    sweepEphemeral: (now) => ephemeral.sweep(now),
    sharedKey: (name) => sharedKeyInTable(db, name),
    migrated,
    async ping() {
      try {
        await sql`select 1`.execute(db);
      } catch (error) {
        // /readyz shows this to whoever asks: which store, never its address.
        throw new Error(isStoreUnreachable(error) ? 'PostgreSQL does not answer; this node reconnects by itself' : `PostgreSQL: ${(error as Error).message}`, { cause: error });
      }
      if (notifier && !notifier.connected) throw new Error('PostgreSQL listener is reconnecting');
    },
    async close() {
      await notifier?.close();
      await db.destroy();
    },
  };
}
