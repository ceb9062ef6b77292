import type BetterSqlite3 from 'better-sqlite3';

/** How often the server's connection asks SQLite whether another connection has committed. */
export const FOREIGN_WRITE_CHECK_MS = 1_000;

/**
 * Notices writes to the database by another program while the server runs (the sqlite3 shell, a
 * script), which the server does not allow but cannot prevent: the database is shared with the
 * checkpoint thread, so it is not held exclusively. The stores keep part of the database in memory
 * (which grant holds each code, live counts, read caches), and a foreign write would leave it wrong:
 * a deleted grant still found by its code, an inserted one not found. SQLite's `data_version` changes
 * exactly when another connection commits (the checkpoint thread's passive checkpoints do not change
 * it), so the watch asks for it every second and has the stores read their memory again from the
 * tables when it moved, and counts it so that the server can say so.
 */
export class ForeignWriteWatch {
  private version: number;
  private readonly timer: NodeJS.Timeout;
  /** Foreign writes noticed so far. */
  detected = 0;

  /**
   * @param idle - whether no write is queued for a group commit: a creation whose row is still
   *   queued holds its code in memory alone, which reading the table again would drop.
   * @param reload - reads the stores' memory again from the tables.
   */
  constructor(
    private readonly sqlite: BetterSqlite3.Database,
    private readonly idle: () => boolean,
    private readonly reload: () => void,
    intervalMs = FOREIGN_WRITE_CHECK_MS,
  ) {
    this.version = this.dataVersion();
    this.timer = setInterval(() => this.check(), intervalMs);
    this.timer.unref();
  }

  /** Reloads the stores if another connection has committed since the last check; true if it had. */
  check(): boolean {
    // During a door's transaction or before a group commit, the next check will do.
    if (!this.sqlite.open || this.sqlite.inTransaction || !this.idle()) return false;
    const version = this.dataVersion();
    if (version === this.version) return false;
    this.version = version;
    this.detected++;
    this.reload();
    return true;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private dataVersion(): number {
    return this.sqlite.pragma('data_version', { simple: true }) as number;
  }
}
