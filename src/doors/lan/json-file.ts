import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { writePrivateFile } from './private-file.js';

/** Small JSON files that hold keys or trust: written whole (temp file + rename), mode 0600. */

/**
 * Why `readJsonFile` failed: the system refused the read (`errno` is its code: EACCES, EISDIR,
 * EIO...), or the text is not JSON (no `errno`). The caller tells the person which, in its own
 * words: a file that cannot be read is not a damaged one, and what to do differs.
 */
export class JsonFileError extends Error {
  constructor(readonly path: string, readonly reason: string, readonly errno?: string) {
    super(`Cannot read ${path}: ${reason}`);
  }
}

/**
 * Reads `path` as JSON, or undefined when it does not exist; throws JsonFileError otherwise.
 *
 * `check`, when given, is handed the status of the file as opened (fstat of the open descriptor,
 * so the file checked is the file read, even if the name is swapped meanwhile) before a byte is
 * read, when it is a regular file; whatever it throws is thrown as it is (a refusal of the file's
 * owner or mode, say), not as a JsonFileError.
 */
export function readJsonFile(path: string, check?: (stat: Stats) => void): unknown {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    if (code === 'ENOENT') return undefined;
    throw new JsonFileError(path, message, code ?? 'EIO');
  }
  let text: string;
  try {
    const stat = fstatSync(fd);
    // A folder at the name fails the read below (EISDIR), as before: not the check's to judge.
    if (stat.isFile()) check?.(stat);
    try {
      text = readFileSync(fd, 'utf8');
    } catch (error) {
      const { code, message } = error as NodeJS.ErrnoException;
      throw new JsonFileError(path, message, code ?? 'EIO');
    }
  } finally {
    closeSync(fd);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new JsonFileError(path, (error as Error).message);
  }
}

/** Replaces `path` atomically, so a crash never leaves half a file. */
export function writeJsonFile(path: string, value: unknown): void {
  // 0700: the folder holds a private key.
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writePrivateFile(path, `${JSON.stringify(value, null, 2)}\n`);
}
