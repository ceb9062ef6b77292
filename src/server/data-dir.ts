import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../core/errors.js';

/**
 * Makes the data folder and its missing parents, one level at a time (mode 700), or stops start-up
 * with a line naming PAIRGATE_DATA_DIR. Node's recursive mkdir never returns under pseudo file
 * systems such as /proc (each level answers "no such file" and it tries again), so a mistyped
 * `--data-dir /proc/...` hung the start; made level by level, the first refusal is the answer.
 */
export function makeDataDir(path: string): void {
  makeFolder(path, 'PAIRGATE_DATA_DIR');
}

/**
 * Makes the folder `path` that the setting `key` names, as `makeDataDir` does, or stops start-up
 * with a line naming `key`: for the folder of database copies too, which was otherwise found not
 * to be one only at the first copy, logged as Node's "EEXIST: file already exists, mkdir" while the
 * server ran without copies.
 */
export function makeFolder(path: string, key: string): void {
  const missing: string[] = [];
  let existing = resolve(path);
  while (!existsSync(existing)) {
    missing.unshift(existing);
    const parent = dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  if (existsSync(existing) && !statSync(existing).isDirectory()) {
    throw new ConfigError(key, `${existing} is not a folder; choose a folder this user may write to`);
  }
  for (const dir of missing) {
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      throw new ConfigError(key, `cannot create ${dir}${whyNotMade(code, error)}`);
    }
  }
}

/**
 * Why a folder could not be made and what to do, after its name. Only a refusal of this user's
 * rights is settled by the owner or another folder this user may write to; a full disk (ENOSPC, no
 * blocks or no inodes left) or a spent quota (EDQUOT) was worded the same way, sending the operator
 * to look at permissions that were right.
 */
function whyNotMade(code: string | undefined, error: unknown): string {
  // No owner or mode helps in these: only space, or another disk, does.
  if (code === 'EROFS') return ': it is on a read-only file system; choose a folder on a writable disk';
  if (code === 'ENOSPC') return ': its disk is full (no space or no inodes left); free space on it, or choose a folder on another disk';
  if (code === 'EDQUOT') return ': this user\'s disk quota is spent; free space, raise the quota, or choose a folder on another disk';
  return ` (${code ?? String(error)}); choose a folder this user may write to`;
}
