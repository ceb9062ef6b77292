import { randomBytes } from 'node:crypto';
import { renameSync, unlinkSync, writeFileSync } from 'node:fs';

/**
 * Files that hold a secret or a key (the device identity, a QR code image of the connection
 * string): readable by their owner only, and written whole.
 */

/**
 * Replaces `path` with `data`, mode 0600: written to a fresh temporary file next to it (created
 * 0600, so never readable by others even for a moment), then renamed over it. So a crash never
 * leaves half a file, a file already there with a wider mode is replaced rather than written in
 * place (a write keeps the old mode), and a symbolic link planted at `path` is replaced, not
 * followed.
 */
export function writePrivateFile(path: string, data: string | Uint8Array): void {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    writeFileSync(temp, data, { mode: 0o600, flag: 'wx' });
    renameSync(temp, path);
  } catch (error) {
    try {
      unlinkSync(temp);
    } catch {
      // Never created, or already renamed.
    }
    throw error;
  }
}
