import { mkdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigDirNotWritableError, UnsafeConfigDirError } from './lan-errors.js';
import { removeLeftoverTempFiles } from './private-file.js';

/** Where the config folder is (see `resolveConfigDir`), without creating or checking it. */
export function configDirPath(option?: string, env: NodeJS.ProcessEnv = process.env): string {
  return option || env.PAIRGATE_CONFIG_DIR || join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'pairgate');
}

/**
 * The folder where a device keeps its lan identity and trusted peers: `--config-dir`, else
 * PAIRGATE_CONFIG_DIR, else $XDG_CONFIG_HOME/pairgate, else ~/.config/pairgate. Created 0700: it
 * holds a private key.
 *
 * What it holds is trusted as it is read (`peers.json` says whose key `lan connect` accepts,
 * `device.json` is this device's key), so, as ssh does with `~/.ssh`, a folder that someone else
 * may write to (group or world writable, or owned by another user than this one or root) is
 * refused: pointed at a shared place such as /tmp, another user could have planted either file.
 * Throws UnsafeConfigDirError (exit code 2) naming the folder and how to fix it.
 *
 * A folder found safe is also rid of the temporary files (`<file>.<hex>.tmp`, over a minute old)
 * that a command killed between writing and renaming left there (`removeLeftoverTempFiles`).
 */
export function resolveConfigDir(option?: string, env: NodeJS.ProcessEnv = process.env): string {
  const dir = configDirPath(option, env);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    const explained = explainConfigWriteError(dir, error);
    if (explained !== error) throw explained;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') throw new UnsafeConfigDirError(`The config folder ${dir} cannot be made: a file stands at its name or on its path. Choose another folder with --config-dir (or PAIRGATE_CONFIG_DIR).`);
    throw new UnsafeConfigDirError(`The config folder ${dir} cannot be used: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`);
  }
  const stat = statSync(dir);
  if (!stat.isDirectory()) throw new UnsafeConfigDirError(`The config folder ${dir} is not a folder.`);
  // Mode bits and owners mean nothing on Windows; elsewhere they are what keeps others out.
  if (process.platform !== 'win32') {
    const uid = process.getuid?.();
    if ((stat.mode & 0o022) !== 0) {
      throw new UnsafeConfigDirError(`The config folder ${dir} is not safe: others can write to it (mode ${(stat.mode & 0o777).toString(8)}), so they could plant a trusted peer or the device key. Run: chmod 700 ${dir}`);
    }
    if (uid !== undefined && stat.uid !== uid && stat.uid !== 0) {
      throw new UnsafeConfigDirError(`The config folder ${dir} is not safe: it belongs to another user (uid ${stat.uid}), who could plant a trusted peer or the device key.`);
    }
  }
  removeLeftoverTempFiles(dir);
  return dir;
}

/** The refusals of a write that the folder's owner or mode cause, so chown and chmod can fix. */
const PERMISSION_DENIED = new Set(['EACCES', 'EPERM']);

/**
 * `error` told in words when it is the config folder `dir` refusing a write (a folder of another
 * user, a mode without write permission, a read-only file system): ConfigDirNotWritableError
 * (exit code 2) naming the folder and what to do. Any other error is returned as it is. Without
 * this the person saw Node's `EACCES: permission denied, open '.../device.json.<hex>.tmp'`, which
 * names a file they never heard of and no way out, and exited 1 as if nothing could be done.
 *
 * The advice depends on the refusal: a permission is fixed with chown and chmod, but on a
 * read-only file system (EROFS: a read-only mount, a container's image, a live CD) no owner or
 * mode lets anyone write, so only another folder helps.
 */
export function explainConfigWriteError(dir: string, error: unknown): unknown {
  const code = String((error as NodeJS.ErrnoException | undefined)?.code);
  const kept = 'where this device\'s key and trusted peers are kept';
  if (code === 'EROFS') {
    return new ConfigDirNotWritableError(
      `Cannot write in the config folder ${dir} (it is on a read-only file system), ${kept}. `
      + 'No change of owner or mode can make it writable: choose a folder on a writable disk with --config-dir or PAIRGATE_CONFIG_DIR.',
    );
  }
  if (!PERMISSION_DENIED.has(code)) return error;
  return new ConfigDirNotWritableError(
    `Cannot write in the config folder ${dir} (permission denied), ${kept}. `
    + `Make it yours and writable (chown it to your user, chmod 700), or choose another folder with --config-dir or PAIRGATE_CONFIG_DIR.`,
  );
}
