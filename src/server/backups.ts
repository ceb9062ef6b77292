import { chmod, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../core/errors.js';
import type { Stores } from '../store/ports.js';
import type { Config } from './config.js';

/** Name of a copy: the time it was made, so that names sort in the order the copies were made. */
const COPY_NAME = /^pairgate-\d{8}T\d{6}(\d{3})?Z\.db$/;

/** What the backups report, for the log. */
export interface BackupLog {
  info(details: Record<string, unknown>, message: string): void;
  warn(details: Record<string, unknown>, message: string): void;
}

/** Where each copy's outcome is counted (the server's metrics). */
export interface BackupMetrics {
  copied(at: Date): void;
  failed(): void;
}

/** A running schedule of copies. */
export interface BackupSchedule {
  /** Makes one copy now (and prunes); resolves with its path. */
  runOnce(): Promise<string>;
  /** Stops the schedule and waits for a copy in progress. */
  stop(): Promise<void>;
}

/** The file name of a copy made at `now`: `pairgate-20261201T170500123Z.db`. */
export function copyName(now: Date): string {
  return `pairgate-${now.toISOString().replace(/[-:.]/g, '')}.db`;
}

/**
 * Refuses a backup folder where there is nothing to copy: with PostgreSQL the durable data is not
 * the server's to copy (pg_dump or the database's own backups do it).
 */
export function checkBackupConfig(config: Config): void {
  if (config.PAIRGATE_BACKUP_DIR && config.PAIRGATE_DATABASE_URL) {
    throw new ConfigError('PAIRGATE_BACKUP_DIR', 'copies the embedded SQLite database; with PAIRGATE_DATABASE_URL back PostgreSQL up with its own tools (pg_dump) and leave this empty');
  }
}

/**
 * Copies of the embedded database in `PAIRGATE_BACKUP_DIR`: one at start-up, then one every
 * `PAIRGATE_BACKUP_INTERVAL_HOURS`, keeping the `PAIRGATE_BACKUP_KEEP` newest. A copy is written
 * under a temporary name and renamed when whole, so a file with the final name is always complete;
 * it is readable by its owner only (it holds password and token hashes). The key that encrypts the
 * install door's secrets (PAIRGATE_INSTALL_SECRET_KEY, or `secret-box.key` in the data folder) is
 * not in the copy: keep it apart from the copies, and with them.
 */
export function startBackups(config: Config, stores: Stores, log: BackupLog, metrics?: BackupMetrics): BackupSchedule | undefined {
  const dir = config.PAIRGATE_BACKUP_DIR;
  const backup = stores.backup;
  if (!dir || !backup) return undefined;
  let running: Promise<string> | undefined;
  let lastMs = 0;
  const copy = async (): Promise<string> => {
    // Two copies within a millisecond would share a name: the later one takes the next.
    lastMs = Math.max(Date.now(), lastMs + 1);
    const final = join(dir, copyName(new Date(lastMs)));
    const partial = `${final}.partial`;
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      // Made empty, owner-only, before SQLite writes a page into it (SQLite keeps the mode of a
      // file it finds, and gives its journal the same): made by the copy itself it took the
      // process's umask until the chmod below, so in a folder others may enter, a local user
      // could open it mid-copy and read the password and token hashes.
      await rm(partial, { force: true });
      await writeFile(partial, '', { mode: 0o600, flag: 'wx' });
      await backup(partial);
      await chmod(partial, 0o600);
      await rename(partial, final);
    } catch (error) {
      metrics?.failed();
      await rm(partial, { force: true }).catch(() => undefined);
      throw error;
    }
    metrics?.copied(new Date(lastMs));
    await prune(dir, config.PAIRGATE_BACKUP_KEEP);
    return final;
  };
  const runOnce = (): Promise<string> => {
    // One copy at a time: a slow disk must not pile them up.
    running ??= copy().finally(() => {
      running = undefined;
    });
    return running;
  };
  const scheduled = (): void => {
    runOnce().then(
      (path) => log.info({ path }, 'database copied'),
      (error: unknown) => log.warn({ err: error, dir }, 'database copy failed; the next one is at the next interval'),
    );
  };
  scheduled();
  const timer = setInterval(scheduled, config.PAIRGATE_BACKUP_INTERVAL_HOURS * 3_600_000);
  timer.unref();
  return {
    runOnce,
    async stop() {
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}

/** Deletes the oldest copies in `dir` beyond the `keep` newest (and leftovers of failed copies). */
async function prune(dir: string, keep: number): Promise<void> {
  const names = await readdir(dir);
  const copies = names.filter((name) => COPY_NAME.test(name)).sort();
  const old = copies.slice(0, Math.max(0, copies.length - keep));
  // Called between copies: a partial file left now is one a crash or a full disk interrupted (with
  // the journal SQLite keeps beside it while the copy is being marked as one).
  const interrupted = names.filter((name) => {
    const copy = /^(.*\.db)\.partial(-journal|-wal|-shm)?$/.exec(name)?.[1];
    return copy !== undefined && COPY_NAME.test(copy);
  });
  await Promise.all([...old, ...interrupted].map((name) => rm(join(dir, name), { force: true })));
}
