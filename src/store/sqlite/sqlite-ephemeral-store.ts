import type BetterSqlite3 from 'better-sqlite3';
import type { Compilable } from 'kysely';
import type { DurableDb } from '../durable-schema.js';
import { ANY_END } from '../ports.js';
import {
  decrementQuery,
  deleteEntryQuery,
  deleteIfHeldQuery,
  incrementQuery,
  listQuery,
  prefixEnd,
  renewIfHeldQuery,
  setIfAbsentWrite,
  setQuery,
  takeQuery,
} from '../sql/ephemeral-queries.js';
import { SqlEphemeralStore } from '../sql/sql-ephemeral-store.js';
import { CompiledStatement } from './compiled-statement.js';
import { ReadCache } from './read-cache.js';
import type { StatementCache } from './statement-cache.js';

// Sentinels: the values the statements are compiled with; each marks where an argument goes.
const KEY = '\u0000key';
const VALUE = '\u0000value';
const EXPIRES = '\u0000expires';
const NOW = '\u0000now';
const END = '\u0000end';
const LATEST = '\u0000latest';
const SENTINELS = [KEY, VALUE, EXPIRES, NOW, END, LATEST] as const;
/** Arguments in the order of SENTINELS; a statement uses those it names. */
type Args = readonly [key: string, value: string, expiresAt: number, now: number, end: string, latestEnd: number];

/** Ephemeral entries (and known absences, e.g. an address with no failed look-ups) in the read cache. */
export const EPHEMERAL_CACHE_SIZE = 10_000;

/** An ephemeral entry as cached: its value and end, or null when the key was read and absent. */
type CachedEntry = { value: string; expiresAt: number } | null;

/** A write waiting for the group commit, with the same write through Kysely and its promise's ends. */
interface QueuedWrite {
  key: string;
  now: () => unknown;
  afterTransaction: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** What a write of a group commit returned, or how it failed. */
type WriteOutcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** A row of the ephemeral table as SQLite returns it. */
interface EphemeralRow {
  key: string;
  value: string;
  expires_at: number;
}

/**
 * A Kysely query compiled once and prepared once, run with its arguments placed where the
 * sentinels were. Like `CompiledStatement`, but for every kind of statement (rows, one row, none):
 * the prefix listing returns several rows.
 */
class EphemeralStatement {
  private readonly statement: BetterSqlite3.Statement;
  private readonly order: number[];

  constructor(sqlite: BetterSqlite3.Database, query: Compilable) {
    const compiled = query.compile();
    this.statement = sqlite.prepare(compiled.sql);
    this.order = compiled.parameters.map((parameter) => {
      const index = (SENTINELS as readonly unknown[]).indexOf(parameter);
      if (index < 0) throw new Error(`compiled query has a parameter that is not a sentinel: ${String(parameter)}`);
      return index;
    });
  }

  private bind(args: Args): unknown[] {
    return this.order.map((index) => args[index]);
  }

  first<Row>(args: Args): Row | undefined {
    return this.statement.get(this.bind(args)) as Row | undefined;
  }

  all<Row>(args: Args): Row[] {
    return this.statement.all(this.bind(args)) as Row[];
  }

  run(args: Args): number {
    return this.statement.run(this.bind(args)).changes;
  }
}

/** The ephemeral store's statements (`ephemeral-queries.ts`), compiled once with sentinels for their arguments. */
function ephemeralStatements(db: DurableDb, sqlite: BetterSqlite3.Database) {
  const expires = EXPIRES as unknown as number;
  const now = NOW as unknown as number;
  const latest = LATEST as unknown as number;
  const prepare = (query: Compilable) => new EphemeralStatement(sqlite, query);
  return {
    increment: prepare(incrementQuery(db, KEY, VALUE, expires, now, latest)),
    decrement: prepare(decrementQuery(db, KEY, now)),
    set: prepare(setQuery(db, KEY, VALUE, expires)),
    setIfAbsent: prepare(setIfAbsentWrite(db, KEY, VALUE, expires, now)),
    take: prepare(takeQuery(db, KEY)),
    delete: prepare(deleteEntryQuery(db, KEY)),
    renewIfHeld: prepare(renewIfHeldQuery(db, KEY, VALUE, expires, now)),
    deleteIfHeld: prepare(deleteIfHeldQuery(db, KEY, VALUE, now)),
    list: prepare(listQuery(db, KEY, END, now)),
  };
}

/**
 * The SQL ephemeral store for SQLite: every statement is compiled once and run synchronously (the
 * rate limits, budgets and caps of every request run one or two of them, and building and
 * compiling a Kysely query each time, then its asynchronous driver round trip, cost more than the
 * statement), and the writes of one turn of the event loop share one commit (`flush`). A
 * key is answered from memory until it is next written (this process is the
 * database's only writer). Absences are cached too: the code guard reads the failure count of
 * every address that looks a code up, and most have none. The statements say what
 * `SqlEphemeralStore` says (the store contract runs against both); only the sweep, rare, is its.
 */
export class SqliteEphemeralStore extends SqlEphemeralStore {
  /** One process's database: the attempts it runs are all the attempts there are. */
  override readonly shared: boolean = false;
  private readonly byKey: CompiledStatement<{ value: string; expires_at: number }>;
  private readonly entries = new ReadCache<string, CachedEntry>(EPHEMERAL_CACHE_SIZE);
  private readonly statements: ReturnType<typeof ephemeralStatements>;
  private readonly sqlite: BetterSqlite3.Database;
  private queue: QueuedWrite[] = [];
  private readonly commitAll: (writes: QueuedWrite[]) => WriteOutcome[];
  private readonly commitEachGuarded: (writes: QueuedWrite[]) => WriteOutcome[];

  constructor(db: DurableDb, statements: StatementCache) {
    super(db);
    this.sqlite = statements.sqlite;
    this.commitAll = this.sqlite.transaction((writes: QueuedWrite[]) => writes.map((write): WriteOutcome => ({ ok: true, value: write.now() })));
    const guarded = this.sqlite.transaction((write: QueuedWrite) => write.now());
    this.commitEachGuarded = this.sqlite.transaction((writes: QueuedWrite[]) =>
      writes.map((write): WriteOutcome => {
        try {
          return { ok: true, value: guarded(write) };
        } catch (error) {
          return { ok: false, error };
        }
      }),
    );
    // Expired entries are read too (and answered as absent by their time), so one read serves until the next write.
    this.byKey = new CompiledStatement(statements.sqlite, db.selectFrom('ephemeral').select(['value', 'expires_at']).where('key', '=', KEY), [KEY]);
    this.statements = ephemeralStatements(db, statements.sqlite);
  }

  override async get(key: string, now: number): Promise<string | undefined> {
    let entry = this.entries.get(key);
    if (entry === undefined) {
      const row = this.byKey.get([key]);
      entry = row ? { value: row.value, expiresAt: Number(row.expires_at) } : null;
      this.entries.fill(key, entry);
    }
    return entry !== null && entry.expiresAt > now ? entry.value : undefined;
  }

  override async increment(key: string, ttlMs: number, now: number, latestEnd = ANY_END): Promise<{ count: number; resetAt: number }> {
    return this.writing(
      key,
      () => {
        const row = this.statements.increment.first<EphemeralRow>([key, '1', now + ttlMs, now, '', latestEnd])!;
        return { count: Number(row.value), resetAt: Number(row.expires_at) };
      },
      () => super.increment(key, ttlMs, now, latestEnd),
    );
  }

  override async decrement(key: string, now: number): Promise<void> {
    return this.writing(key, () => void this.statements.decrement.run([key, '', 0, now, '', 0]), () => super.decrement(key, now));
  }

  override async set(key: string, value: string, ttlMs: number, now: number): Promise<void> {
    return this.writing(key, () => void this.statements.set.run([key, value, now + ttlMs, now, '', 0]), () => super.set(key, value, ttlMs, now));
  }

  override async setIfAbsent(key: string, value: string, ttlMs: number, now: number): Promise<boolean> {
    // No row changed: a live holder kept the key (the upsert's update found it unexpired).
    return this.writing(key, () => this.statements.setIfAbsent.run([key, value, now + ttlMs, now, '', 0]) === 1, () => super.setIfAbsent(key, value, ttlMs, now));
  }

  override async take(key: string, now: number): Promise<string | undefined> {
    return this.writing(
      key,
      () => {
        const row = this.statements.take.first<EphemeralRow>([key, '', 0, now, '', 0]);
        return row && Number(row.expires_at) > now ? row.value : undefined;
      },
      () => super.take(key, now),
    );
  }

  override async delete(key: string): Promise<void> {
    return this.writing(key, () => void this.statements.delete.run([key, '', 0, 0, '', 0]), () => super.delete(key));
  }

  // Both go through `writing`, like every write: the cache forgets `key` once they are committed.
  override async renewIfHeld(key: string, value: string, ttlMs: number, now: number): Promise<boolean> {
    return this.writing(key, () => this.statements.renewIfHeld.run([key, value, now + ttlMs, now, '', 0]) === 1, () => super.renewIfHeld(key, value, ttlMs, now));
  }

  override async deleteIfHeld(key: string, value: string, now: number): Promise<boolean> {
    return this.writing(key, () => this.statements.deleteIfHeld.run([key, value, 0, now, '', 0]) === 1, () => super.deleteIfHeld(key, value, now));
  }

  override async list(prefix: string, now: number): Promise<{ key: string; value: string; expiresAt: number }[]> {
    const rows = this.statements.list.all<EphemeralRow>([prefix, '', 0, now, prefixEnd(prefix), 0]);
    return rows.map((row) => ({ key: row.key, value: row.value, expiresAt: Number(row.expires_at) }));
  }

  /** Writes queued for the next group commit. */
  get pending(): number {
    return this.queue.length;
  }

  /** Forgets what is cached, after another program wrote to the database. */
  reload(): void {
    this.entries.clear();
  }

  override async sweep(now: number): Promise<number> {
    // The sweep deletes only expired entries, which the cache already answers as absent; dropping
    // the cache keeps it from holding them (and the absences) longer than their rows.
    try {
      return await super.sweep(now);
    } finally {
      this.entries.clear();
    }
  }

  /**
   * Queues a write to `key` for the next group commit; resolves with what it returned once
   * committed, after the cache has forgotten `key`. `afterTransaction` is the same write through
   * Kysely, for a flush that finds a door's transaction open.
   */
  private writing<T>(key: string, now: () => T, afterTransaction: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ key, now, afterTransaction, resolve: resolve as (value: unknown) => void, reject });
      if (this.queue.length === 1) setImmediate(() => this.flush());
    });
  }

  /**
   * Group commit: the writes queued in one turn of the event loop run in one transaction, as the
   * commit (a WAL append and its bookkeeping) costs more than each write; when one fails, they run
   * again each in a savepoint of its own, so that only it fails (as `BatchedInsert` does for new
   * grants). Each write still runs alone against what the ones before it left, so set-if-absent and
   * counters stay exact. While a door's transaction (Kysely's, which holds the connection across
   * awaits) is open, a write run now would join it and vanish if it rolled back: the batch goes
   * through Kysely instead, which runs each write once that transaction has ended.
   */
  private flush(): void {
    const batch = this.queue;
    this.queue = [];
    if (this.sqlite.inTransaction) {
      for (const write of batch) {
        write.afterTransaction().finally(() => this.entries.invalidate(write.key)).then(write.resolve, write.reject);
      }
      return;
    }
    let outcomes: WriteOutcome[];
    try {
      outcomes = this.commitAll(batch);
    } catch {
      try {
        outcomes = this.commitEachGuarded(batch);
      } catch (error) {
        outcomes = batch.map(() => ({ ok: false, error }));
      }
    }
    for (const write of batch) this.entries.invalidate(write.key);
    outcomes.forEach((outcome, i) => (outcome.ok ? batch[i]!.resolve(outcome.value) : batch[i]!.reject(outcome.error)));
  }
}
