import { createHash, createPublicKey, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { InvalidRequestError } from '../../core/errors.js';
import { checkConfigFile, explainConfigWriteError } from './config-dir.js';
import { DEVICE_ID_BYTES, MAX_NAME_BYTES, nameProblem, writtenName } from './connection-string.js';
import { JsonFileError, readJsonFile, writeJsonFile } from './json-file.js';
import { BadDeviceFileError, DeviceFileUnreadableError } from './lan-errors.js';
import { createPrivateFile } from './private-file.js';
import { certificatePin, createTlsIdentity, type TlsIdentity } from './tls-identity.js';

/**
 * The long-lived identity of this device: an id, a name and a TLS key with a self-signed
 * certificate. Pairing (whose listener uses a fresh key per session) tells the peer this key's
 * pin; later `lan connect` sessions use it for mutual TLS.
 */
export interface DeviceIdentity extends TlsIdentity {
  deviceId: string;
  name: string;
}

/** What `device.json` holds: the pin is not stored, it is computed from the certificate. */
interface StoredIdentity {
  deviceId: string;
  name: string;
  keyPem: string;
  certPem: string;
}

const FILE = 'device.json';
const VALID_SECONDS = 10 * 365 * 24 * 3600;
/** How often a command that lost the creation race looks again when the file it lost to is gone. */
const CREATE_ATTEMPTS = 3;
/** What re-creating the key costs: said wherever moving the file aside is advised. */
const NEW_KEY_COST = 'the next pairgate command makes a new key, and every device paired with this one must then pair again (they pin the old key)';

/**
 * A name for this device from `host` (the host name), made safe for the connection string: at most
 * 48 characters and never over MAX_NAME_BYTES bytes (48 letters of another script may be 144), since
 * `device.json` with a name over that is refused as damaged.
 */
export function defaultDeviceName(host = hostname()): string {
  let name = '';
  for (const character of [...host.replace(/[^\p{L}\p{N} ._-]/gu, '')].slice(0, 48)) {
    if (Buffer.byteLength(name + character, 'utf8') > MAX_NAME_BYTES) break;
    name += character;
  }
  return name || 'pairgate device';
}

/**
 * Loads the identity from `configDir`, making it on first use. `name` renames the device.
 *
 * Made once, whatever the number of commands started at once on a fresh folder: each that finds no
 * `device.json` makes a key, but only one of them can create the file (`createPrivateFile`: a link,
 * which fails when the file exists), and the others take the identity that one wrote. So every
 * command uses the key on disk: a command that paired with a key of its own that was then
 * overwritten would leave its peer pinning a key this device no longer has.
 *
 * Throws BadDeviceFileError (`lan_bad_device_file`) when `device.json` is not what this code
 * writes (not JSON, a field missing, an id that is not 16 bytes of base64url, a name that names may
 * not be, a certificate that cannot be read or that is not of the key),
 * leaving it as it is: it is this device's key, which peers pin, so it is never silently replaced.
 * Throws DeviceFileUnreadableError (`lan_device_file_unreadable`) when it cannot be read at all
 * (permission denied, a folder at its name): the access is what to fix, not the key. Throws
 * UnsafeConfigDirError (`lan_unsafe_config_dir`) when others may write or read it, or it is
 * another user's (`checkConfigFile`).
 */
export async function loadDeviceIdentity(configDir: string, name?: string): Promise<DeviceIdentity> {
  if (name !== undefined) {
    const problem = nameProblem(name);
    // The person's input (`--name`): a refusal they can fix (exit code 2), not a crash (exit 1).
    if (problem) throw new InvalidRequestError(`This device's name (--name) cannot be used: ${problem}.`, { field: 'name' }, 'lan_bad_name');
  }
  const path = join(configDir, FILE);
  try {
    const identity = readIdentity(path) ?? await createIdentity(path, name ?? defaultDeviceName());
    if (name !== undefined && name !== identity.name) {
      // Only the name changes: a rename never replaces the key, so two commands renaming at once
      // keep the same key whichever writes last (and a creation never replaces a file).
      identity.name = name;
      writeJsonFile(path, stored(identity));
    }
    return identity;
  } catch (error) {
    // A folder this user may not write: said as such, not as Node's EACCES on a temporary file.
    throw explainConfigWriteError(configDir, error);
  }
}

/**
 * A fresh device id: 16 random bytes in base64url that do not start with "-". People type ids
 * on the command line (`peers remove`, `lan connect`), where one starting with "-" (1 in 64 of
 * them) read as an unknown option. The first character is the first byte's top 6 bits; drawing
 * again when it would be "-" leaves the other 63 equally likely. Ids made before stay valid.
 */
export function newDeviceId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** Makes a fresh identity and stores it, unless another command stored one first: then that one. */
async function createIdentity(path: string, name: string): Promise<DeviceIdentity> {
  const fresh: DeviceIdentity = { deviceId: newDeviceId(), name, ...await createTlsIdentity(name, VALID_SECONDS) };
  const data = `${JSON.stringify(stored(fresh), null, 2)}\n`;
  // 0700, as writeJsonFile makes it: the folder holds a private key.
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  for (let attempt = 0; attempt < CREATE_ATTEMPTS; attempt++) {
    if (createPrivateFile(path, data)) return fresh;
    // Another command created it while this one made its key: that identity is the one on disk.
    const winner = readIdentity(path);
    if (winner) return winner;
    // Removed again in between (by hand): try to create it again.
  }
  // Something is at the name that reads as nothing: a symbolic link to a file that does not exist.
  throw new BadDeviceFileError(`The device identity file ${path} cannot be created: something is at that name that cannot be read (a link to a missing file?). Remove it.`);
}

/**
 * The identity stored at `path`, undefined when there is none; BadDeviceFileError when damaged,
 * DeviceFileUnreadableError when it cannot be read.
 */
function readIdentity(path: string): DeviceIdentity | undefined {
  let file: unknown;
  try {
    // Someone else who could write it could swap the key; one they could read has given it away.
    file = readJsonFile(path, (stat) => checkConfigFile(path, stat, 'device'));
  } catch (error) {
    throw readFailure(path, error);
  }
  if (file === undefined) return undefined;
  const fields = file as Partial<Record<keyof StoredIdentity, unknown>> | null;
  // Anything but an object (null, a list, a number) lacks them all.
  const missing = (['deviceId', 'name', 'keyPem', 'certPem'] as const).filter((field) => typeof fields?.[field] !== 'string' || fields[field] === '');
  if (missing.length > 0) throw damaged(path, `${missing.join(', ')} missing or not text`);
  const { deviceId, name: storedName, keyPem, certPem } = fields as StoredIdentity;
  // Checked here, not where they are used: a bad one failed later, in the middle of a command,
  // as a RangeError (an offer's connection string) or as the other device's protocol error.
  if (!isDeviceId(deviceId)) {
    throw damaged(path, `its "deviceId" is not a device id (16 bytes in base64url, 22 characters of A-Z a-z 0-9 - _)`);
  }
  // Named by an earlier version, the name may hold what names may no longer hold (`writtenName`).
  const name = writtenName(storedName);
  const problem = nameProblem(name);
  if (problem) throw badName(path, problem);
  let spkiSha256: Buffer;
  let keySpkiSha256: Buffer;
  try {
    spkiSha256 = certificatePin(certPem);
    keySpkiSha256 = createHash('sha256').update(createPublicKey(keyPem).export({ type: 'spki', format: 'der' })).digest();
  } catch (error) {
    throw damaged(path, `its key or certificate cannot be read (${(error as Error).message})`);
  }
  // TLS would refuse the pair at every use; peers pin the certificate's key, so say it now.
  if (!keySpkiSha256.equals(spkiSha256)) throw damaged(path, 'its certificate is not of its key');
  return { deviceId, name, keyPem, certPem, spkiSha256 };
}

/** True for a device id as pairgate makes them: 16 bytes, canonical base64url (`newDeviceId`; an older id may start with "-"). */
function isDeviceId(value: string): boolean {
  const bytes = Buffer.from(value, 'base64url');
  return bytes.length === DEVICE_ID_BYTES && bytes.toString('base64url') === value;
}

/**
 * A `device.json` whose name cannot be used (edited by hand): only the name is to fix, so the
 * advice keeps the key, which moving the file aside would cost every paired device.
 */
function badName(path: string, problem: string): BadDeviceFileError {
  return new BadDeviceFileError(`The device identity file ${path} is damaged: its "name" cannot be used (${problem}). pairgate leaves it as it is. `
    + `Edit "name" in it to at most ${MAX_NAME_BYTES} bytes of text without control or invisible formatting characters, leaving the other fields as they are: they hold the key every paired device pins.`);
}

/**
 * A damaged `device.json` (`why`), with what to do. Moved aside, not deleted: the key in it may be
 * repaired or restored, and only it spares every paired device a new pairing.
 */
function damaged(path: string, why: string): BadDeviceFileError {
  return new BadDeviceFileError(`The device identity file ${path} is damaged: ${why}. pairgate leaves it as it is. `
    + `Repair it or restore it from a backup; or move it aside (mv ${path} ${path}.broken): ${NEW_KEY_COST}.`);
}

/** `readJsonFile`'s failure on `device.json`, in the person's terms: damaged, or not readable (by its errno). */
function readFailure(path: string, error: unknown): Error {
  if (!(error instanceof JsonFileError)) return error as Error;
  if (error.errno === undefined) return damaged(path, `it is not JSON (${error.reason})`);
  return new DeviceFileUnreadableError(`The device identity file ${path} cannot be read ${unreadable(path, error.errno, error.reason)}`, error.errno);
}

/**
 * Why `device.json` could not be read, and what to do. A permission problem never gets "move it
 * aside": the key is fine, and a new one would make every paired device pair again.
 */
function unreadable(path: string, errno: string, reason: string): string {
  switch (errno) {
    case 'EACCES':
    case 'EPERM':
      return `(permission denied). Make it yours and readable (chown it to your user, then chmod 600 ${path}), or choose another config folder with --config-dir or PAIRGATE_CONFIG_DIR. `
        + 'Keep the file: it holds the key every paired device pins.';
    case 'EISDIR':
      return `(it is a folder, not a file). Move the folder out of the way (mv ${path} ${path}.aside): ${NEW_KEY_COST}.`;
    default:
      return `(${reason}). Check the file and the disk it is on, then try again. Keep the file: it holds the key every paired device pins.`;
  }
}

function stored(identity: DeviceIdentity): StoredIdentity {
  return { deviceId: identity.deviceId, name: identity.name, keyPem: identity.keyPem, certPem: identity.certPem };
}
