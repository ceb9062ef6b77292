import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';

/** How often the background thread copies the WAL into the database file. */
export const CHECKPOINT_INTERVAL_MS = 100;

/**
 * Pages the WAL may hold before the server's own connection checkpoints, blocking its thread: a
 * backstop for a background thread that cannot keep up or has died (SQLite's default is 1000).
 */
export const BACKSTOP_CHECKPOINT_PAGES = 16_000;

/**
 * Passes of one round: a pass copies what the WAL held when it began, while the server goes on
 * appending, so each further pass has less to copy.
 */
const PASSES_PER_ROUND = 3;

/**
 * WAL pages from which the server's thread finishes a round itself, copying the pages written
 * during the background thread's last pass. SQLite writes the WAL file again from its start only
 * when a write begins and every page in it has been copied; under a steady load the server appends
 * faster than a thread that waits for `fsync` can catch up with, and the file would grow to the
 * backstop. The tail costs the server's thread little: it is what one pass took to sync, and the
 * background thread has already synced everything before it.
 */
const RESTART_PAGES = 4_000;

/**
 * The background thread, as the source of a worker (CommonJS, with `require`): a source file
 * would have to exist both as TypeScript for the tests and as JavaScript once built. It opens its
 * own connection and runs passive checkpoints on a timer; passive checkpoints never wait for, nor
 * hold up, the server's reads and writes.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.filename, { fileMustExist: true });
// The checkpoint syncs the WAL before copying it and the database after: NORMAL (as the server's
// own connection) and FULL both do, and a checkpoint that did not would risk the database.
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 0');
let timer;
// A round ends with a report; the next one is scheduled once the server's thread has answered it,
// so that the two never checkpoint at the same time (the second would find the first busy).
const round = () => {
  let last = { log: 0, checkpointed: 0 };
  try {
    for (let pass = 0; pass < workerData.passes; pass++) {
      last = db.pragma('wal_checkpoint(PASSIVE)')[0];
      if (last.busy || last.checkpointed >= last.log) break;
    }
    parentPort.postMessage({ log: last.log });
  } catch (error) {
    parentPort.postMessage({ error: String((error && error.message) || error) });
  }
};
parentPort.on('message', (message) => {
  if (message === 'next') {
    timer = setTimeout(round, workerData.intervalMs);
    return;
  }
  clearTimeout(timer);
  db.close();
  parentPort.close();
});
timer = setTimeout(round, workerData.intervalMs);
`;

/**
 * Copies the WAL of a SQLite database into its file on a thread of its own, so that the server's
 * thread does not wait for the two `fsync` calls of each checkpoint. Left to SQLite, every
 * thousandth page written ran a checkpoint on the thread that serves requests: 10-20 ms of `fsync`
 * for 4 MiB on these machines, every second or so under a creation load. Measured on the grant
 * store (300k new grants in group commits of 40, 4 December 2026), the slowest 1% of group commits
 * took 2.6-3.7 ms instead of 8-11 (the median was 0.26 ms either way). The creation benchmark's
 * throughput did not change: pinned to one core, the thread's copying takes the time the waits
 * gave back.
 *
 * The server's thread still copies the tail written during the thread's last pass, once the WAL is
 * long (`RESTART_PAGES`), so that the WAL file is written again from its start; and its connection
 * keeps a backstop (`BACKSTOP_CHECKPOINT_PAGES`): should the thread fall behind, or stop, SQLite
 * checkpoints as before. Failures are counted (`failures`, `lastError`); the server logs them and
 * exports the count (`pairgate_sqlite_checkpoint_failures_total`).
 */
export class BackgroundCheckpoint {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  private stopping = false;
  /** The last failure of a checkpoint, on either thread, if any. */
  lastError: string | undefined;
  /** Checkpoints that failed so far, on either thread (the server logs and counts them: see Stores.checkpointFailures). */
  failures = 0;
  /** Rounds the server's thread finished (for tests). */
  finishedRounds = 0;

  constructor(sqlite: BetterSqlite3.Database, filename: string) {
    sqlite.pragma(`wal_autocheckpoint = ${BACKSTOP_CHECKPOINT_PAGES}`);
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { filename, driver: createRequire(import.meta.url).resolve('better-sqlite3'), intervalMs: CHECKPOINT_INTERVAL_MS, passes: PASSES_PER_ROUND },
      // The thread only copies pages; a small heap is plenty.
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
    });
    this.worker.on('message', (message: { error?: string; log?: number }) => {
      if (message.error !== undefined) this.fail(message.error);
      else this.finishRound(sqlite, message.log ?? 0);
      if (!this.stopping) this.worker.postMessage('next');
    });
    this.exited = new Promise((resolve) => {
      this.worker.once('exit', () => {
        // Gone (stopped, or failed to start): SQLite's own checkpoints take over at their usual size.
        if (sqlite.open) sqlite.pragma('wal_autocheckpoint = 1000');
        resolve();
      });
      this.worker.once('error', (error) => this.fail(error.message));
    });
    // A store that is never closed must not keep the process alive.
    this.worker.unref();
  }

  /**
   * Copies the tail the background thread left, once the WAL is long enough to start again (see
   * RESTART_PAGES). `log` is the length of the WAL when the thread's last pass began: even when
   * that pass copied all of it, the server may have written more since.
   */
  private finishRound(sqlite: BetterSqlite3.Database, log: number): void {
    // A door's transaction holds the connection across awaits; the next round will do.
    if (log < RESTART_PAGES || !sqlite.open || sqlite.inTransaction) return;
    try {
      sqlite.pragma('wal_checkpoint(PASSIVE)');
      this.finishedRounds++;
    } catch (error) {
      // Thrown from an event handler, a failure (a full disk, say) would end the process; the
      // writes themselves fail and say so, and the next round tries again.
      this.fail((error as Error).message);
    }
  }

  private fail(message: string): void {
    this.lastError = message;
    this.failures++;
  }

  /** Stops the thread and waits for it to close its connection. */
  async stop(): Promise<void> {
    this.stopping = true;
    // Referenced again, or an event loop with nothing else to do would end before the thread
    // has closed its connection, leaving this promise unsettled (Node's exit code 13).
    this.worker.ref();
    this.worker.postMessage('stop');
    await this.exited;
  }
}
