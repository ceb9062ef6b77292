import type BetterSqlite3 from 'better-sqlite3';

/**
 * Group commit for SQLite inserts. A commit, not the insert, is what costs (one WAL append and
 * its bookkeeping), so inserts that arrive in the same turn of the event loop are written in one
 * transaction. When a row fails (a taken code), the batch is written again with a savepoint per
 * row, so that only that row fails. Every caller learns its own outcome.
 */
export class BatchedInsert<Row> {
  private queue: { row: Row; resolve: (value: unknown) => void; reject: (error: unknown) => void }[] = [];
  private readonly writeAll: (rows: Row[]) => unknown[];
  private readonly writeEachGuarded: (rows: Row[]) => ({ ok: true; value: unknown } | { ok: false; error: unknown })[];

  constructor(private readonly sqlite: BetterSqlite3.Database, insertOne: (row: Row) => unknown) {
    this.writeAll = sqlite.transaction((rows: Row[]) => rows.map(insertOne));
    const guarded = sqlite.transaction(insertOne);
    this.writeEachGuarded = sqlite.transaction((rows: Row[]) =>
      rows.map((row) => {
        try {
          return { ok: true as const, value: guarded(row) };
        } catch (error) {
          return { ok: false as const, error };
        }
      }),
    );
  }

  /** Rows queued for the next group commit. */
  get pending(): number {
    return this.queue.length;
  }

  /** Queues `row`; resolves with what `insertOne` returned once its transaction committed. */
  insert(row: Row): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.queue.push({ row, resolve, reject });
      if (this.queue.length === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    // A door's transaction holds the connection: written now, the batch would join it and be
    // undone if it rolled back. It waits for its end (see outsideTransaction).
    if (this.sqlite.inTransaction) {
      setImmediate(() => this.flush());
      return;
    }
    const batch = this.queue;
    this.queue = [];
    const rows = batch.map((entry) => entry.row);
    try {
      // The common case: every row goes in, one transaction, no savepoints.
      this.writeAll(rows).forEach((value, i) => batch[i]!.resolve(value));
      return;
    } catch {
      // Some row failed (a taken code, say) and the whole transaction rolled back: write again,
      // each row in a savepoint of its own, so that only the failing rows fail.
    }
    let outcomes: ReturnType<typeof this.writeEachGuarded>;
    try {
      outcomes = this.writeEachGuarded(rows);
    } catch (error) {
      for (const entry of batch) entry.reject(error);
      return;
    }
    outcomes.forEach((outcome, i) => {
      if (outcome.ok) batch[i]!.resolve(outcome.value);
      else batch[i]!.reject(outcome.error);
    });
  }
}
