import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { unreadable } from './config-file.js';
import { createFileDurably } from './durable-file.js';

/**
 * Secrets at rest under a server key: AES-256-GCM with a fresh 96-bit nonce per value, for secrets
 * pairgate must use again in clear (an HMAC key it verifies signatures with, a bot token it calls
 * with), which a hash cannot serve. A copy of the database without the key opens nothing.
 *
 * Sealed form: `v1.<nonce>.<tag>.<ciphertext>` (base64url). `context` is bound as additional
 * authenticated data, so a sealed value copied into another row or column does not open there.
 */
export class SecretBox {
  private readonly key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('a SecretBox key has 32 bytes');
    this.key = Buffer.from(key);
  }

  /** Seals `plaintext`, bound to `context` (e.g. `table:column:row id`). */
  seal(plaintext: string, context: string): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', nonce, cipher.getAuthTag(), body].map((part) => (typeof part === 'string' ? part : part.toString('base64url'))).join('.');
  }

  /** Opens a sealed value; undefined when it was not sealed under this key and context. */
  open(sealed: string, context: string): string | undefined {
    const [version, nonce, tag, body, extra] = sealed.split('.');
    if (version !== 'v1' || nonce === undefined || tag === undefined || body === undefined || extra !== undefined) return undefined;
    try {
      // The tag's whole 16 bytes: without authTagLength, Node accepts a tag cut to 4 bytes, which a
      // forger needs 2^32 tries, not 2^128, to match.
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(nonce, 'base64url'), { authTagLength: 16 });
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }
}

/** Name of the key file kept in the data folder when no key is configured. */
export const SECRET_KEY_FILE = 'secret-box.key';

/** A configured server key (32 bytes in base64 or base64url); a ConfigError naming `keyName` otherwise. */
export function parseSecretKey(configured: string, keyName: string): Buffer {
  const text = configured.trim();
  const key = Buffer.from(text, 'base64');
  if (key.length === 32) return key;
  // Said without the value, a secret: its length and, for `openssl rand -hex 32`, what it looks like.
  const hex = /^[0-9a-f]{64}$/i.test(text) ? ' (this one is 64 hex digits, `openssl rand -hex 32`: give the key in base64)' : ` (this one decodes to ${key.length} bytes)`;
  throw new ConfigError(keyName, `expected 32 random bytes in base64 (e.g. \`openssl rand -base64 32\`)${hex}`);
}

/**
 * The key file `path` could not be used: a ConfigError naming it, why, and what to do, never the
 * raw system error (which named neither the file's purpose nor the setting).
 */
function keyFileError(keyName: string, path: string, doing: 'read' | 'create', error: unknown): ConfigError {
  const fix = doing === 'read'
    ? 'make it a file pairgate can read (it holds the key of the secrets already stored), or set ' + keyName + ' to that key'
    : 'make the data folder writable by pairgate, or set ' + keyName + ' (`openssl rand -base64 32`)';
  return new ConfigError(keyName, `cannot ${doing} the key file ${path}: ${unreadable(error)}; ${fix}`);
}

/**
 * What removing the secret box's key file costs, said when it is unusable: the secrets sealed
 * under it no longer open.
 */
export const SECRET_KEY_LOSS = 'the secrets already sealed under the old key (installation secrets, bot tokens) can no longer be opened and must be entered again';

/**
 * The server key: `configured` (32 bytes, base64 or base64url, from the configuration key named
 * `keyName`) when set; otherwise the key file `fileName` in `dataDir`, created on first use with
 * mode 0600. Several nodes sharing one database must share the key, so they should set it in
 * configuration. `loss` says what a new key would cost, for the error about a key file cut short.
 */
export function loadSecretKey(configured: string, dataDir: string, keyName: string, fileName = SECRET_KEY_FILE, loss = SECRET_KEY_LOSS): Buffer {
  if (configured) return parseSecretKey(configured, keyName);
  const path = join(dataDir, fileName);
  const existing = readKeyFile(path, keyName, loss);
  if (existing) return existing;
  const key = randomBytes(32);
  // Written whole to a file of our own, then linked to the name: a process starting at the same
  // time reads either no file or the complete key, never an empty one, and the link fails when a
  // key is there already (replacing it would orphan the secrets sealed under it). The file's bytes
  // reach the disk before its name does, and the name before the key is used: without the two
  // syncs a power loss soon after the first start could leave the name on an empty file (the
  // file system writes names and bytes back separately), or no key behind what it already hashed.
  let created: boolean;
  try {
    mkdirSync(dataDir, { recursive: true });
    created = createFileDurably(path, `${key.toString('base64')}\n`, 0o600);
  } catch (error) {
    throw keyFileError(keyName, path, 'create', error);
  }
  return created ? key : loadSecretKey('', dataDir, keyName, fileName, loss);
}

/**
 * The key in the file at `path`; undefined when there is no such file. A file that holds no key
 * (empty or cut short, as a crash while an older version first wrote it could leave it) stops the
 * start with what to do, never a new key drawn in its place: that would lose, silently, what the
 * old one protects (`loss`).
 */
function readKeyFile(path: string, keyName: string, loss: string): Buffer | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw keyFileError(keyName, path, 'read', error);
  }
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length === 32) return key;
  const held = text.trim() === '' ? 'is empty' : `holds ${key.length} bytes, not 32, in base64`;
  throw new ConfigError(
    keyName,
    `the key file ${path} ${held} (a file cut short, as a crash while it was first written can leave it): put the key back from a copy of the data folder, or set ${keyName} to it; or remove the file to have a new key drawn at the next start, and then ${loss}`,
  );
}
