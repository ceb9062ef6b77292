import type { DurableDb } from '../durable-schema.js';
import { SqlEphemeralStore } from '../sql/sql-ephemeral-store.js';
import { CompiledStatement } from './compiled-statement.js';
import { ReadCache } from './read-cache.js';
import type { StatementCache } from './statement-cache.js';

const A = '\u0000a';


/** Ephemeral entries (and known absences, e.g. an address with no failed look-ups) in the read cache. */
export const EPHEMERAL_CACHE_SIZE = 10_000;

/** An ephemeral entry as cached: its value and end, or null when the key was read and absent. */
type CachedEntry = { value: string; expiresAt: number } | null;

/**
 * The SQL ephemeral store for SQLite: a key is read with a statement compiled once, and answered
 * from memory until it is next written (this process is the database's only writer). Absences are
 * cached too: the code guard reads the failure count of every address that looks a code up, and
 * most have none.
 */
export class SqliteEphemeralStore extends SqlEphemeralStore {
  private readonly byKey: CompiledStatement<{ value: string; expires_at: number }>;
  private readonly entries = new ReadCache<string, CachedEntry>(EPHEMERAL_CACHE_SIZE);

  constructor(db: DurableDb, statements: StatementCache) {
    super(db);
    // Expired entries are read too (and answered as absent by their time), so one read serves until the next write.
    this.byKey = new CompiledStatement(statements.sqlite, db.selectFrom('ephemeral').select(['value', 'expires_at']).where('key', '=', A), [A]);

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

  override async increment(key: string, ttlMs: number, now: number): Promise<{ count: number; resetAt: number }> {
    return this.writing(key, () => super.increment(key, ttlMs, now));
  }

  override async set(key: string, value: string, ttlMs: number, now: number): Promise<void> {
    return this.writing(key, () => super.set(key, value, ttlMs, now));
  }

  override async setIfAbsent(key: string, value: string, ttlMs: number, now: number): Promise<boolean> {
    return this.writing(key, () => super.setIfAbsent(key, value, ttlMs, now));
  }

  override async take(key: string, now: number): Promise<string | undefined> {
    return this.writing(key, () => super.take(key, now));
  }

  override async delete(key: string): Promise<void> {
    return this.writing(key, () => super.delete(key));
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

  /** Runs a write to `key`, then forgets what was cached for it. */
  private async writing<T>(key: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } finally {
      this.entries.invalidate(key);
    }
  }
}
