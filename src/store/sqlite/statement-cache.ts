import type BetterSqlite3 from 'better-sqlite3';
import type { Compilable } from 'kysely';
import { FifoMap } from 'toad-cache';

/** Prepared statements kept per SQL text. */
const STATEMENT_CACHE_SIZE = 256;

/**
 * Prepared statements reused by SQL text, and Kysely queries run through them synchronously.
 * Kysely prepares on every query, which costs more than most queries; and a query run in the same
 * turn of the event loop as the decisions around it (which grant holds a code, what the read cache
 * holds) needs no lock to stay consistent with them.
 */
export class StatementCache {
  /** First in, first out (a plain Map evicting its first key walks over its deleted entries). */
  private readonly statements = new FifoMap<BetterSqlite3.Statement>(STATEMENT_CACHE_SIZE, 0);

  constructor(readonly sqlite: BetterSqlite3.Database) {}

  /** The prepared statement for `sql`, prepared once. */
  prepare(sql: string): BetterSqlite3.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.sqlite.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs `query` now; its first row (a query that returns rows) or undefined. */
  first<Row>(query: Compilable<Row>): Row | undefined {
    const { sql, parameters } = query.compile();
    return this.prepare(sql).get(parameters as unknown[]) as Row | undefined;
  }

  /** Runs `query` now; all its rows. */
  all<Row>(query: Compilable<Row>): Row[] {
    const { sql, parameters } = query.compile();
    return this.prepare(sql).all(parameters as unknown[]) as Row[];
  }

  /** Runs `query` (one that returns no rows) now; the number of rows it changed. */
  run(query: Compilable): number {
    const { sql, parameters } = query.compile();
    return this.prepare(sql).run(parameters as unknown[]).changes;
  }
}
