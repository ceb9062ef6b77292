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
      // No owner or mode helps there: only another folder does.
      if (code === 'EROFS') throw new ConfigError(key, `cannot create ${dir}: it is on a read-only file system; choose a folder on a writable disk`);
      throw new ConfigError(key, `cannot create ${dir} (${code ?? String(error)}); choose a folder this user may write to`);
    }
  }
}
