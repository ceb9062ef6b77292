import { mkdirSync, statSync, type Stats } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigDirNotWritableError, UnsafeConfigDirError } from './lan-errors.js';
import { removeLeftoverTempFiles } from '../../server/durable-file.js';

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

/** The files of the config folder whose owner and mode `checkConfigFile` judges. */
export type ConfigFileKind = 'peers' | 'device';

/** What someone else who can change each file could do with it, for the refusal. */
const PLANTED: Record<ConfigFileKind, string> = {
  peers: 'plant a trusted peer (a device key that "lan connect" would accept)',
  device: 'replace this device\'s key with one they know',
};

/**
 * Refuses a file of the config folder that someone else could have changed, as `resolveConfigDir`
 * refuses the folder: `stat` is the file as opened (`readJsonFile`'s check), `kind` which file.
 * The folder's own mode keeps others from planting a new file, but not from writing into one that
 * is group or world writable (or theirs), so each is checked where it is read. Throws
 * UnsafeConfigDirError (`lan_unsafe_config_dir`, exit code 2) naming the file and the chmod that
 * fixes it when:
 *
 * - group or others may write it, or it belongs to another user than this one or root;
 * - it is `device.json` and group or others may read it: it holds this device's private key,
 *   which may then have leaked, so the person is told so and how to replace the key.
 *
 * pairgate itself writes both 0600 (`writePrivateFile`), so only a hand (cp, an editor, a
 * restore, a wide umask on a copy) makes either of these. Nothing is checked on Windows, whose
 * files have no such mode bits.
 */
export function checkConfigFile(path: string, stat: Stats, kind: ConfigFileKind): void {
  if (process.platform === 'win32') return;
  const mode = (stat.mode & 0o777).toString(8);
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid && stat.uid !== 0) {
    throw new UnsafeConfigDirError(`The file ${path} is not safe: it belongs to another user (uid ${stat.uid}), who could ${PLANTED[kind]}. `
      + `If its content is yours, make it yours (chown it to your user), then run: chmod 600 ${path}`);
  }
  if ((stat.mode & 0o022) !== 0) {
    throw new UnsafeConfigDirError(`The file ${path} is not safe: others can write to it (mode ${mode}), so they could ${PLANTED[kind]}. `
      + `${kind === 'peers' ? 'Check with "pairgate peers list", once fixed, that it trusts only devices you paired with. ' : ''}Run: chmod 600 ${path}`);
  }
  if (kind === 'device' && (stat.mode & 0o044) !== 0) {
    throw new UnsafeConfigDirError(`The file ${path} is not safe: others can read it (mode ${mode}), and it holds this device's private key, which may have leaked. `
      + `Run: chmod 600 ${path}. If someone else may have read it, replace the key: move the file aside (mv ${path} ${path}.leaked), `
      + 'so that the next pairgate command makes a new key, remove this device on every paired device ("pairgate peers remove <its id>" there) and pair them again.');
  }
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
