import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The folder where a device keeps its lan identity and trusted peers: `--config-dir`, else
 * PAIRGATE_CONFIG_DIR, else $XDG_CONFIG_HOME/pairgate, else ~/.config/pairgate. Created 0700: it
 * holds a private key.
 */
export function resolveConfigDir(option?: string, env: NodeJS.ProcessEnv = process.env): string {
  const dir = option || env.PAIRGATE_CONFIG_DIR || join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'pairgate');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}
