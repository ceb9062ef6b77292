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
  const missing: string[] = [];
  let existing = resolve(path);
  while (!existsSync(existing)) {
    missing.unshift(existing);
    const parent = dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  if (existsSync(existing) && !statSync(existing).isDirectory()) {
    throw new ConfigError('PAIRGATE_DATA_DIR', `${existing} is not a folder; choose a folder this user may write to`);
  }
  for (const dir of missing) {
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      throw new ConfigError('PAIRGATE_DATA_DIR', `cannot create ${dir} (${code ?? String(error)}); choose a folder this user may write to`);
    }
  }
}
