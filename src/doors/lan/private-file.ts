import { closeSync, fsyncSync, openSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createFileDurably, replaceFileDurably, syncFolder } from '../../server/durable-file.js';

/**
 * Files that hold a secret or a key (the device identity, a QR code image of the connection
 * string): readable by their owner only, written whole, and flushed to the disk before their name
 * is (`src/server/durable-file.ts`), so a power loss never leaves one empty or cut short.
 */

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Never created, or already renamed: nothing to remove.
  }
}

/**
 * Replaces `path` with `data`, mode 0600: written to a fresh temporary file next to it (created
 * 0600, so never readable by others even for a moment), flushed to the disk, then renamed over it,
 * and the folder flushed. So neither a crash nor a power loss leaves half a file, a file already
 * there with a wider mode is replaced rather than written in place (a write keeps the old mode),
 * and a symbolic link planted at `path` is replaced, not followed.
 */
export function writePrivateFile(path: string, data: string | Uint8Array): void {
  replaceFileDurably(path, data, 0o600);
}

/** `link(2)` errors of a file system that has no hard links (FAT, some network shares). */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/**
 * Creates `path` with `data`, mode 0600, only if nothing is there yet; true when this call created
 * it, false when a file (or link) was already at `path`, which is left as it was. Of any number of
 * processes creating the same path at once, exactly one gets true, and every reader sees either no
 * file or the whole of the winner's: the data is written to a fresh temporary file (0600) and
 * flushed to the disk, then hard-linked to `path`, and the folder flushed (`createFileDurably`).
 * link(2) fails when `path` exists, where a rename would replace it (the last writer would win),
 * and unlike creating `path` itself with O_EXCL it publishes the file complete, never empty or
 * half written, and the flushes keep it so after a power loss.
 *
 * On a file system without hard links, `path` itself is created with O_EXCL and written in one
 * write, flushed, then the folder: still exactly one winner, but a reader in the instant between
 * the two may find it empty.
 */
export function createPrivateFile(path: string, data: string | Uint8Array): boolean {
  try {
    return createFileDurably(path, data, 0o600);
  } catch (error) {
    // Only the link's refusals mean "no hard links here"; the temporary file's (a folder that
    // cannot be written, a full disk) and the folder's flush are the caller's to see.
    const { code, syscall } = error as NodeJS.ErrnoException;
    if (syscall === 'link' && code !== undefined && NO_HARD_LINKS.has(code)) return createExclusive(path, data, { durable: true });
    throw error;
  }
}

/**
 * Creates `path` (mode 0600) holding `data`, with O_EXCL: false when it exists. A write that fails
 * takes the half-written file away again. Readers may meet it empty for an instant (see
 * createPrivateFile for a creation they never see half done). `durable`: the file is flushed to
 * the disk before it is closed, and its folder after (a lock file, which a crash makes stale
 * anyway, needs neither).
 */
export function createExclusive(path: string, data: string | Uint8Array, options: { durable?: boolean } = {}): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    writeFileSync(fd, data);
    if (options.durable) fsyncSync(fd);
  } catch (error) {
    // Half a file would be taken for the winner's: remove it, so that a retry can create it.
    closeSync(fd);
    unlinkQuietly(path);
    throw error;
  }
  closeSync(fd);
  if (options.durable) syncFolder(dirname(path));
  return true;
}
