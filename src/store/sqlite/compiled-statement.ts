import type BetterSqlite3 from 'better-sqlite3';
import type { Compilable } from 'kysely';

/**
 * A query Kysely builds once and better-sqlite3 runs many times. Kysely stays the one place SQL is
 * written; skipping its per-call building and driver round trip matters on the read paths every
 * code look-up takes. The query is built with sentinel values; their positions in the compiled
 * parameters fix where each argument goes, and a mismatch fails at start-up, not at run time.
 */
export class CompiledStatement<Row> {
  private readonly statement: BetterSqlite3.Statement;
  private readonly order: number[];

  constructor(sqlite: BetterSqlite3.Database, query: Compilable, sentinels: readonly string[]) {
    const compiled = query.compile();
    this.statement = sqlite.prepare(compiled.sql);
    this.order = compiled.parameters.map((parameter) => {
      const index = sentinels.indexOf(String(parameter));
      if (index < 0) throw new Error(`compiled query has a parameter that is not a sentinel: ${String(parameter)}`);
      return index;
    });
  }

  /** The first row for `args` (in the order of the sentinels), or undefined. */
  get(args: readonly unknown[]): Row | undefined {
    return this.statement.get(this.order.map((index) => args[index])) as Row | undefined;
  }
}
