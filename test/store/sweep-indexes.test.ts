import { randomBytes } from 'node:crypto';
import { sql, type CompiledQuery } from 'kysely';
import { describe, expect, it } from 'vitest';
import { AppAccesses } from '../../src/doors/access/app-accesses.js';
import { accessMigrations } from '../../src/doors/access/migrations.js';
import { accountsMigrations } from '../../src/doors/accounts/migrations.js';
import { DnsRecords, dnsMigrations } from '../../src/doors/dns/dns-records.js';
import { PasswordResets } from '../../src/doors/accounts/password-resets.js';
import { Sessions } from '../../src/doors/accounts/sessions.js';
import { UserStore } from '../../src/doors/accounts/users.js';
import { Installations } from '../../src/doors/install/installations.js';
import { installMigrations } from '../../src/doors/install/migrations.js';
import { SecretBox } from '../../src/server/secret-box.js';
import type { DurableDb, MigrationSet } from '../../src/store/durable-schema.js';
import { coreMigrations } from '../../src/store/migrations/core.js';
import type { Stores } from '../../src/store/ports.js';
import { planOf, StatementCapture } from '../helpers/query-plans.js';
import { upgradeSetups } from '../helpers/upgrade-setups.js';

/** The migrations that add the sweeps' indexes. */
const ADDED = new Set(['2026121500_access_accesses_expiry', '2026121500_accounts_sweep_indexes', '2026121500_install_installations_sweep', '2026121600_dns_challenges_sweep']);
const ALL: MigrationSet = { ...coreMigrations, ...accountsMigrations, ...accessMigrations, ...installMigrations, ...dnsMigrations };
const BEFORE: MigrationSet = Object.fromEntries(Object.entries(ALL).filter(([name]) => !ADDED.has(name)));

const NOW = 1_000_000_000;
const HOUR = 3_600_000;

/** A sweep, the table whose expired rows it looks for, and the indexes its statements should read them by. */
const sweeps: { table: string; indexes: string[]; sweep(db: DurableDb): Promise<unknown> }[] = [
  { table: 'app_accesses', indexes: ['app_accesses_expires'], sweep: (db) => new AppAccesses(db).sweep(NOW) },
  { table: 'password_resets', indexes: ['password_resets_expires'], sweep: (db) => new PasswordResets(db, HOUR).sweep(NOW) },
  // An OR of three terms: each read by an index (SQLite's MULTI-INDEX OR, PostgreSQL's BitmapOr).
  {
    table: 'account_sessions',
    indexes: ['account_sessions_expires', 'account_sessions_last_seen'],
    sweep: (db) => new Sessions(db, new UserStore(db), { ttlMs: 24 * HOUR, idleMs: HOUR }, false).sweep(NOW),
  },
  // Expired setups by one index, rotated installations by the other.
  {
    table: 'chat_installations',
    indexes: ['chat_installations_pending', 'chat_installations_rotated'],
    sweep: (db) => new Installations(db, new SecretBox(randomBytes(32))).sweep(NOW, HOUR),
  },
  // The ACME challenges left behind, by a partial index that holds them alone (the updated_at
  // index, which the sweep read before, holds the whole zone).
  { table: 'dns_records', indexes: ['dns_records_challenges'], sweep: (db) => new DnsRecords(db).removeStaleChallenges(NOW - HOUR, NOW) },
];

/** The SQL of every statement `sweep` runs (on empty tables: one of each), as the store compiles it. */
async function sweepStatements(stores: Stores, sweep: (db: DurableDb) => Promise<unknown>): Promise<CompiledQuery[]> {
  const capture = new StatementCapture();
  await sweep(stores.db.withPlugin(capture));
  return capture.compiled(stores.db);
}

/** The plan of each statement that reads `table`, in one text a statement (`planOf`). */
async function plans(stores: Stores, dialect: 'sqlite' | 'postgres', table: string, statements: CompiledQuery[]): Promise<string[]> {
  const reading = statements.filter((statement) => statement.sql.includes(`from "${table}"`));
  expect(reading.length).toBeGreaterThan(0);
  const found: string[] = [];
  for (const statement of reading) found.push(await planOf(stores.db, dialect, statement));
  return found;
}

/**
 * Whether the sweep's statements read `table` by its new indexes, and none reads the whole table.
 * On SQLite each index is used where it should be. PostgreSQL, on tables it has no statistics of,
 * may pick either of two indexes led by the same column (`chat_installations`' state) for a query:
 * there a plan by one of them is enough.
 */
async function sweepUsesIndexes(stores: Stores, dialect: 'sqlite' | 'postgres', spec: (typeof sweeps)[number]): Promise<boolean> {
  const found = await plans(stores, dialect, spec.table, await sweepStatements(stores, spec.sweep));
  const scan = dialect === 'sqlite' ? new RegExp(`SCAN ${spec.table}\\b`) : new RegExp(`Seq Scan on ${spec.table}\\b`);
  if (found.some((plan) => scan.test(plan))) return false;
  const used = (index: string) => found.some((plan) => plan.includes(index));
  return dialect === 'sqlite' ? spec.indexes.every(used) : spec.indexes.some(used);
}

/** The indexes of `table`, by name. */
async function indexesOf(stores: Stores, dialect: 'sqlite' | 'postgres', table: string): Promise<string[]> {
  const rows = dialect === 'sqlite'
    ? await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ${table}`.execute(stores.db)
    : await sql<{ name: string }>`SELECT indexname AS name FROM pg_indexes WHERE tablename = ${table}`.execute(stores.db);
  return rows.rows.map((row) => row.name);
}

/**
 * The sweeps delete a batch at a time (`deleteInBatches`, `inBatches`), and each batch looked for
 * its rows by a condition no index served: every batch read the table until it found them, the
 * last one the whole table. The migrations add an index for each condition, and the batch's
 * statements read by it.
 */
for (const setup of await upgradeSetups('pairgate-sweep-indexes-')) describe.skipIf(Boolean(setup.skip))(`the sweeps find their rows by an index, ${setup.name}${setup.skip ? ` (skipped: ${setup.skip})` : ''}`, () => {
  const dialect = setup.name === 'SQLite' ? 'sqlite' : 'postgres';

  it('the migrations add the indexes to a database made before them, and every sweep reads by them', async () => {
    const database = await setup.make();
    try {
      const old = await database.open(BEFORE);
      try {
        for (const spec of sweeps) {
          expect(await indexesOf(old, dialect, spec.table)).not.toEqual(expect.arrayContaining(spec.indexes));
          expect(await sweepUsesIndexes(old, dialect, spec), `${spec.table} before the migrations`).toBe(false);
        }
      } finally {
        await old.close();
      }
      const upgraded = await database.open(ALL);
      try {
        for (const spec of sweeps) {
          expect(await indexesOf(upgraded, dialect, spec.table)).toEqual(expect.arrayContaining(spec.indexes));
          expect(await sweepUsesIndexes(upgraded, dialect, spec), `${spec.table} after the migrations`).toBe(true);
        }
      } finally {
        await upgraded.close();
      }
    } finally {
      await database.drop();
    }
  }, 60_000);
});
