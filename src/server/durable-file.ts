import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, lstatSync, openSync, readdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Files written so that a crash or a power loss leaves either the old file or the whole new one:
 * the bytes go to a fresh temporary file next to the name, which is flushed to the disk (fsync)
 * before it is renamed or linked to the name, and the folder is flushed after, so the name is on
 * the disk before anyone relies on it. Without the first sync the file system may write the new
 * name back before the bytes (an empty or cut-short file after a power loss); without the second
 * the name itself may be lost, or come back pointing at the old file.
 *
 * Node's fs only: the server's key files, the doors' identities and the CLI's certificates share
 * it, and so does the SDK, so it imports nothing of pairgate.
 */

/** A fresh temporary name next to `path`, in its folder so that a rename or link stays on one file system. */
export function temporaryName(path: string): string {
  return `${path}.${randomBytes(6).toString('hex')}.tmp`;
}

/** The names `temporaryName` makes, `<file>.<12 hex digits>.tmp`, and nothing else. */
export const TEMPORARY_NAME = /^.+\.[0-9a-f]{12}\.tmp$/;

/**
 * Errors of a folder fsync on a file system (or system: Windows cannot open a folder as a file)
 * that does not do it. Nothing more can be done there, so they are passed over; any other error
 * (EIO, ENOSPC, EACCES) is real and thrown.
 */
const FOLDER_SYNC_UNSUPPORTED = new Set(['EINVAL', 'EISDIR']);

function unsupported(error: unknown): boolean {
  return FOLDER_SYNC_UNSUPPORTED.has((error as NodeJS.ErrnoException).code ?? '');
}

/** Removes `path` if it is there; a file already gone (renamed, never made) is no error. */
function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Never created, or already renamed or removed: nothing to take away.
  }
}

/**
 * Flushes the names in the folder `dir` (a file just renamed or linked there) to the disk. A
 * file system that cannot sync a folder (EINVAL, EISDIR) is passed over; other errors are thrown.
 */
export function syncFolder(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch (error) {
    if (unsupported(error)) return;
    throw error;
  }
  try {
    fsyncSync(fd);
  } catch (error) {
    if (!unsupported(error)) throw error;
  } finally {
    closeSync(fd);
  }
}

/**
 * Creates the file `path` (failing with EEXIST if anything, a symbolic link included, is at the
 * name: O_EXCL does not follow links), with `mode` from the start (less the umask, as open(2)
 * does), holding `data`, flushed to the disk before it is closed. A write that fails takes the
 * file away again.
 */
export function writeNewFileSynced(path: string, data: string | Uint8Array, mode: number): void {
  const fd = openSync(path, 'wx', mode);
  try {
    writeFileSync(fd, data);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    removeQuietly(path);
    throw error;
  }
  closeSync(fd);
}

/** A file to write with `replaceFilesDurably`: its name, its content and its mode (0600 unless said). */
export interface DurableFile {
  path: string;
  data: string | Uint8Array;
  mode?: number;
}

/**
 * Replaces (or creates) each file with its data, durably: every file is written whole to a fresh
 * temporary file (created with its mode, so a key is never readable by others even for a moment)
 * and flushed, all of them before the first rename; then each is renamed over its name in the
 * order given, and each folder flushed once all are in place. A crash leaves each file either old
 * or whole and new (between two renames, the first new beside the second old: give the order a
 * reader can detect); a symbolic link at a name is replaced, not followed; a file already there
 * with a wider mode is replaced, not written in place (a write would keep its mode). On an error
 * no temporary file is left behind.
 */
export function replaceFilesDurably(files: readonly DurableFile[]): void {
  const temporaries = files.map((file) => temporaryName(file.path));
  try {
    files.forEach((file, i) => writeNewFileSynced(temporaries[i]!, file.data, file.mode ?? 0o600));
    files.forEach((file, i) => renameSync(temporaries[i]!, file.path));
  } catch (error) {
    for (const temporary of temporaries) removeQuietly(temporary);
    throw error;
  }
  for (const dir of new Set(files.map((file) => dirname(file.path)))) syncFolder(dir);
}

/** Replaces (or creates) `path` with `data`, durably and whole: `replaceFilesDurably` for one file. */
export function replaceFileDurably(path: string, data: string | Uint8Array, mode = 0o600): void {
  replaceFilesDurably([{ path, data, mode }]);
}

/**
 * Renames `from` to `to` (replacing it) and flushes the folder of `to`, so the new name is on the
 * disk before the caller goes on; for a file already written durably under another name.
 */
export function renameDurably(from: string, to: string): void {
  renameSync(from, to);
  syncFolder(dirname(to));
  if (dirname(from) !== dirname(to)) syncFolder(dirname(from));
}

/**
 * Creates `path` with `data` and `mode` only if nothing is there yet, durably: true when this call
 * created it, false when something was at the name already (left as it was). The data is written
 * to a fresh temporary file, flushed, then hard-linked to `path`: link(2) fails when the name
 * exists, so of any number of writers at once exactly one wins, and every reader sees either no
 * file or the whole of the winner's. The folder is flushed after the link.
 *
 * Other errors of the link (a file system without hard links: EPERM, ENOTSUP...) are thrown as
 * they are, `syscall: 'link'`, for a caller that has another way.
 */
export function createFileDurably(path: string, data: string | Uint8Array, mode = 0o600): boolean {
  const temporary = temporaryName(path);
  try {
    writeNewFileSynced(temporary, data, mode);
    try {
      linkSync(temporary, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
  } finally {
    // The temporary name is only the way in: `path` keeps the file.
    removeQuietly(temporary);
  }
  syncFolder(dirname(path));
  return true;
}

/**
 * Age after which a temporary file is a leftover: its writer renames or links it within
 * milliseconds of writing it, so one a minute old belongs to a writer that died in between.
 */
export const LEFTOVER_TEMP_AGE_MS = 60_000;

/**
 * Removes from `dir` the temporary files a writer that died between writing and renaming (or
 * linking) left behind; returns their names. Without this they stay for ever: mode 0600, so
 * harmless to others, but each holds a whole copy of a key or of the trusted peers.
 *
 * Only what `temporaryName` could have made is touched: a regular file (not a link, not a folder)
 * whose name is exactly `<file>.<12 hex digits>.tmp` and which was last written more than
 * `olderThanMs` ago (default a minute), long past the milliseconds a live writer keeps it. A
 * writer stalled for longer (stopped with SIGSTOP) then fails its rename with ENOENT and reports
 * it: nothing half written is ever published. Best effort: a folder that cannot be listed, or a
 * file that another sweeper removed first, is passed over silently. In a folder that is not
 * pairgate's alone (`box cert --out`), `of` names the files whose temporaries may go: no other.
 */
export function removeLeftoverTempFiles(dir: string, olderThanMs = LEFTOVER_TEMP_AGE_MS, now = Date.now(), of?: readonly string[]): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return []; // cannot be listed: whatever uses the folder will say why
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!TEMPORARY_NAME.test(name)) continue;
    if (of && !of.includes(name.slice(0, -'.0123456789ab.tmp'.length))) continue;
    const path = join(dir, name);
    try {
      const stat = lstatSync(path);
      // A time in the future is a clock that moved, not an age: left alone.
      if (!stat.isFile() || now - stat.mtimeMs <= olderThanMs) continue;
      unlinkSync(path);
      removed.push(name);
    } catch {
      // Gone meanwhile (renamed by its writer, or removed by another command): nothing to do.
    }
  }
  return removed;
}
