import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { ConflictError } from '../../core/errors.js';

/**
 * Copies of the embedded database know they are copies, so that a restore done half-way is caught.
 *
 * Restoring is copying a copy over `pairgate.db` with the server stopped. If the old
 * `pairgate.db-wal` stays beside it (a server that crashed leaves one), SQLite cannot tell that it
 * belongs to another database: on opening, it applies the old changes to the copy, so the restore
 * silently does not happen, or the file is damaged. A copy is therefore marked (SQLite's
 * `user_version`, which nothing else uses, in its header), and a marked file with a WAL file
 * beside it is refused before SQLite opens it. The first server to open a copy clears the mark
 * and checkpoints at once, so the header on disk stops saying "copy" before any WAL of its own
 * could exist beside it.
 */

/** `user_version` of a copy made by `Stores.backup` ("pgcp"). */
export const COPY_MARK = 0x70676370;

/** Offset of `user_version` in the SQLite file header (4 bytes, big-endian). */
const USER_VERSION_OFFSET = 60;
const HEADER = 'SQLite format 3\0';

/**
 * Makes the copy at `path` a copy: one self-contained file (rollback journal, no WAL file to
 * carry along) whose header says it is a copy.
 */
export function markAsCopy(path: string): void {
  const copy = new BetterSqlite3(path);
  try {
    copy.pragma('journal_mode = DELETE');
    copy.pragma(`user_version = ${COPY_MARK}`);
  } finally {
    copy.close();
  }
}

/** The `user_version` in the header of the SQLite file `filename`; undefined when it is none. */
function headerUserVersion(filename: string): number | undefined {
  let fd: number;
  try {
    fd = openSync(filename, 'r');
  } catch {
    return undefined; // No file yet (a new data folder); other failures are SQLite's to report.
  }
  try {
    const header = Buffer.alloc(100);
    if (readSync(fd, header, 0, header.length, 0) < header.length) return undefined;
    if (header.toString('latin1', 0, HEADER.length) !== HEADER) return undefined;
    return header.readUInt32BE(USER_VERSION_OFFSET);
  } finally {
    closeSync(fd);
  }
}

/**
 * Refuses to open `filename` when it is a restored copy and a WAL file of the database it
 * replaced lies beside it, before SQLite would apply that file to it.
 */
export function refuseForeignWal(filename: string): void {
  if (headerUserVersion(filename) !== COPY_MARK) return;
  const wal = `${filename}-wal`;
  let size = 0;
  try {
    size = statSync(wal).size;
  } catch {
    return;
  }
  if (size === 0) return;
  const name = basename(filename);
  throw new ConflictError(
    `${name} in ${dirname(filename)} is a copy from a backup, and the ${name}-wal beside it belongs to the database it replaced: opened together, the old changes would be applied to the copy. Move ${name}-wal and ${name}-shm aside (docs/backups.md, Restore) and start again.`,
    'restore_unfinished',
  );
}

/** Clears the mark of a restored copy once it is the live database (see above). */
export function adoptCopy(sqlite: BetterSqlite3.Database): void {
  if (sqlite.pragma('user_version', { simple: true }) !== COPY_MARK) return;
  sqlite.pragma('user_version = 0');
  sqlite.pragma('wal_checkpoint(TRUNCATE)');
}
