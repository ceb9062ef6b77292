import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { writePrivateFile } from './private-file.js';

/** Small JSON files that hold keys or trust: written whole (temp file + rename), mode 0600. */

/** Reads `path` as JSON, or undefined when it does not exist. */
export function readJsonFile(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`Cannot read ${path}: ${(error as Error).message}`);
  }
}

/** Replaces `path` atomically, so a crash never leaves half a file. */
export function writeJsonFile(path: string, value: unknown): void {
  // 0700: the folder holds a private key.
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writePrivateFile(path, `${JSON.stringify(value, null, 2)}\n`);
}
