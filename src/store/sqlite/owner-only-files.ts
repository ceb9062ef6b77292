import { chmodSync, closeSync, openSync, statSync } from 'node:fs';

/** The files SQLite keeps for a database in WAL mode: the database, its log and its shared memory. */
function databaseFiles(filename: string): string[] {
  return [filename, `${filename}-wal`, `${filename}-shm`];
}

/**
 * Why a mode may not be changed that SQLite reports better when it opens the file: gone, another
 * owner's, a folder pairgate may not enter, a read-only file system (SQLite then says which, and
 * the start-up error says what to do).
 */
const LEFT_TO_SQLITE = ['ENOENT', 'EPERM', 'EACCES', 'EROFS'];

/** Whether `error` is a file-system error of code `code`. */
function hasCode(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === code;
}

/**
 * Makes the database's files readable and writable by their owner only (mode 600), whatever the
 * umask and whoever made the data folder. They hold hashes of live codes, sessions' chat, accounts'
 * password hashes and sealed tokens; the folder is made mode 700 only when pairgate creates it, so a
 * folder that already existed (a volume, `mkdir -p` under umask 022) left them readable by every
 * local user. A new database file is created here at mode 600 before SQLite opens it, since SQLite
 * gives its log and shared-memory files the database file's mode; files that exist lose their group
 * and other bits. A file pairgate may not change (another owner, a read-only file system) is left
 * for SQLite to report when it opens it.
 */
export function keepOwnerOnly(filename: string): void {
  try {
    closeSync(openSync(filename, 'wx', 0o600));
  } catch (error) {
    if (!hasCode(error, 'EEXIST')) return;
  }
  for (const file of databaseFiles(filename)) {
    try {
      const { mode } = statSync(file);
      if ((mode & 0o077) !== 0) chmodSync(file, mode & 0o700);
    } catch (error) {
      if (!LEFT_TO_SQLITE.some((code) => hasCode(error, code))) throw error;
    }
  }
}
