import { createPublicKey, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { ConflictError, InvalidRequestError, NotFoundError } from '../../core/errors.js';
import { certificateFingerprints } from '../../core/fingerprint.js';
import { renameDurably, replaceFileDurably } from '../../server/durable-file.js';
import { createSelfSigned, type KeyAndCertificate } from './self-signed.js';

/** A box's identity: its key, its self-signed certificate and the fingerprints derived from them. */
export interface BoxIdentity extends KeyAndCertificate {
  /** `spki-sha256` fingerprint (52 characters): the box's name in the registry and in DNS. */
  fingerprint: string;
  /** `legacy-sha1` fingerprint (40 hex characters), for registries of the Project Link era. */
  legacyFingerprint: string;
  /** Folder it is stored in. */
  dir: string;
}

/** File name of the box key inside the identity folder. */
export const BOX_KEY_FILE = 'box.key';
/** File name of the box certificate inside the identity folder. */
export const BOX_CERT_FILE = 'box.crt';
/**
 * File name of the certificate of a new identity while `box init` writes it: in place before the
 * new key is, moved to `box.crt` after. Found beside a key it belongs to (and a `box.crt` it does
 * not), it is the rest of a replacement that was interrupted once its key was written.
 */
export const BOX_NEW_CERT_FILE = 'box.crt.new';

/** The default identity folder: $PAIRGATE_BOX_DIR, else ~/.pairgate/box. */
export function defaultBoxDir(env: Record<string, string | undefined> = process.env): string {
  return env.PAIRGATE_BOX_DIR || join(homedir(), '.pairgate', 'box');
}

/**
 * True when `dir` holds an identity, or part of one (a key or a certificate alone, as an
 * interrupted `box init` leaves them): `box init` then keeps it (or finishes it), never drawing a
 * new key over one that may already be the box's.
 */
export function hasBoxIdentity(dir: string): boolean {
  return mayExist(join(dir, BOX_KEY_FILE)) || mayExist(join(dir, BOX_CERT_FILE));
}

/**
 * False only when `path` is known not to exist: a file this user may not even look for (a folder
 * of another user's, mode 700) may be there, and `box init` must not draw a new key over it, but
 * read it and say it cannot (`box_identity_unreadable`).
 */
function mayExist(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code !== 'ENOENT' && code !== 'ENOTDIR';
  }
}

/**
 * A file of the identity this user cannot read (permission denied, or a folder at its name):
 * `box_identity_unreadable`, exit code 2, naming the file and what to do, where Node's
 * `EACCES: permission denied, open '.../box.key'` named no way out and exited 1. The files are
 * never called damaged nor replaced: the key is the box's fingerprint, which DNS names and pins
 * hold.
 */
export class BoxIdentityUnreadableError extends InvalidRequestError {
  constructor(path: string, readonly errno: string) {
    const dir = dirname(path);
    super(errno === 'EACCES' || errno === 'EPERM'
      ? `The box identity file ${path} cannot be read (permission denied). Run pairgate as the user who made the identity, or make the folder and its files yours (chown -R <your user> ${dir}; the key keeps mode 600), or point --dir (PAIRGATE_BOX_DIR) at another folder. Keep the files: the key is the box's fingerprint.`
      : errno === 'EISDIR'
        ? `The box identity file ${path} cannot be read (it is a folder, not a file). Move the folder out of the way, or point --dir (PAIRGATE_BOX_DIR) at another folder.`
        : `The box identity file ${path} cannot be read (${errno}). Check the file and the disk it is on, then try again. Keep the file: the key is the box's fingerprint.`, { path, errno }, 'box_identity_unreadable');
  }
}

/** The text of `path`, undefined when there is no such file; BoxIdentityUnreadableError when it cannot be read. */
function readIfThere(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code !== undefined) throw new BoxIdentityUnreadableError(path, code);
    throw error;
  }
}

/** The DER public key (SPKI) of a PEM private key, undefined when the text holds none (empty, cut short). */
function keySpki(keyPem: string): Buffer | undefined {
  try {
    return createPublicKey(keyPem).export({ type: 'spki', format: 'der' });
  } catch {
    return undefined;
  }
}

/** The DER public key (SPKI) a PEM certificate names, undefined when the text holds no certificate. */
function certificateSpki(certPem: string): Buffer | undefined {
  try {
    return new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  } catch {
    return undefined;
  }
}

/** True when `certPem` is a certificate of the key `keyPem`. */
function isPair(keyPem: string | undefined, certPem: string | undefined): boolean {
  if (keyPem === undefined || certPem === undefined) return false;
  const key = keySpki(keyPem);
  const cert = certificateSpki(certPem);
  return key !== undefined && cert !== undefined && key.equals(cert);
}

/** What is wrong with the key and certificate files of `dir`, in words naming them; undefined when they are a pair. */
function pairProblem(dir: string, keyPem: string | undefined, certPem: string | undefined): string | undefined {
  const keyFile = join(dir, BOX_KEY_FILE);
  const certFile = join(dir, BOX_CERT_FILE);
  if (keyPem === undefined) return `${certFile} is there but the key ${keyFile} is missing`;
  if (certPem === undefined) return `${keyFile} is there but the certificate ${certFile} is missing`;
  if (keySpki(keyPem) === undefined) return `${keyFile} holds no private key that can be read (empty or cut short?)`;
  if (certificateSpki(certPem) === undefined) return `${certFile} holds no certificate that can be read (empty or cut short?)`;
  if (!isPair(keyPem, certPem)) return `the key ${keyFile} is not the key of the certificate ${certFile}`;
  return undefined;
}

/**
 * Why the identity in `dir` cannot be used, and what to do: a key and a certificate that are not
 * a pair are never served (TLS would refuse them, or a peer would pin a key the box does not hold).
 *
 * - `box_identity_interrupted`: the key is whole and `box.crt.new` is its certificate: a
 *   `box init --force` stopped after writing the new key. `box init` (without --force) finishes it.
 * - `box_identity_mismatch`: anything else (one file missing or unreadable, two files of different
 *   identities, as an interrupted `box init --force` of an older version left them): the files
 *   must be put back from a copy, or a new identity made.
 */
function brokenIdentity(dir: string, problem: string, keyPem: string | undefined): ConflictError {
  const staged = readIfThere(join(dir, BOX_NEW_CERT_FILE));
  if (isPair(keyPem, staged)) {
    return new ConflictError(
      `The box identity in ${dir} is half replaced: ${problem}, and ${join(dir, BOX_NEW_CERT_FILE)} holds the certificate of that key (a \`pairgate box init --force\` was interrupted). Run \`pairgate box init --dir ${dir}\` to finish the replacement (it keeps the new key and its fingerprint ${certificateFingerprints(staged!).fingerprint}).`,
      'box_identity_interrupted',
    );
  }
  return new ConflictError(
    `The box identity in ${dir} cannot be used: ${problem} (a \`pairgate box init --force\` of an older version interrupted, or files of two identities). Put back ${BOX_KEY_FILE} and ${BOX_CERT_FILE} from the same copy, or run \`pairgate box init --force --dir ${dir}\` to make a new identity (a new fingerprint: DNS names and pins of the old one stop working).`,
    'box_identity_mismatch',
  );
}

/**
 * Reads the identity in `dir`; a missing identity tells the user how to make one. A key and a
 * certificate that are not a pair (or one without the other) are refused with a ConflictError
 * naming the files and what to do (`box_identity_interrupted`, `box_identity_mismatch`), never
 * served.
 */
export function loadBoxIdentity(dir: string): BoxIdentity {
  const keyPem = readIfThere(join(dir, BOX_KEY_FILE));
  const certPem = readIfThere(join(dir, BOX_CERT_FILE));
  // Something the user fixes (a 4xx: the CLI exits 2), with the command that does it.
  if (keyPem === undefined && certPem === undefined) throw new NotFoundError(`There is no box identity in ${dir}: run \`pairgate box init\` first (or point --dir at the folder that holds it).`, 'no_box_identity');
  const problem = pairProblem(dir, keyPem, certPem);
  if (problem !== undefined) throw brokenIdentity(dir, problem, keyPem);
  const { fingerprint, legacy } = certificateFingerprints(certPem!);
  return { keyPem: keyPem!, certPem: certPem!, fingerprint, legacyFingerprint: legacy, dir };
}

/**
 * Writes `made` as the identity in `dir`, replacing any there, so that a crash at any point leaves
 * either the whole old identity or the whole new one, or the new key with its certificate still in
 * `box.crt.new`, which `loadBoxIdentity` tells apart and `finishReplacement` completes:
 *
 * 1. the new certificate to `box.crt.new` (mode 0644), flushed: the old pair is untouched, and
 *    a certificate left there alone is ignored;
 * 2. the new key over `box.key` (mode 0600), flushed, its folder after: the point of no return;
 * 3. `box.crt.new` renamed over `box.crt`, the folder flushed.
 *
 * Each file is written whole to a temporary file and flushed before it is renamed
 * (`replaceFileDurably`), so none is ever found empty or cut short, and a key is never readable
 * by others, even for a moment.
 */
function writeIdentity(dir: string, made: KeyAndCertificate): void {
  const staged = join(dir, BOX_NEW_CERT_FILE);
  replaceFileDurably(staged, made.certPem, 0o644);
  replaceFileDurably(join(dir, BOX_KEY_FILE), made.keyPem, 0o600);
  renameDurably(staged, join(dir, BOX_CERT_FILE));
}

/**
 * Completes a replacement interrupted after its key was written (`box.crt.new` holding the
 * certificate of `box.key`, `box.crt` not); takes away a `box.crt.new` left before its key was,
 * beside the whole old identity. Anything else is left for `loadBoxIdentity` to refuse.
 */
function finishReplacement(dir: string): void {
  const stagedFile = join(dir, BOX_NEW_CERT_FILE);
  // The key first: a folder this user cannot read is said of the key, not of a file they never heard of.
  const keyPem = readIfThere(join(dir, BOX_KEY_FILE));
  const staged = readIfThere(stagedFile);
  if (staged === undefined) return;
  const certPem = readIfThere(join(dir, BOX_CERT_FILE));
  if (isPair(keyPem, certPem)) rmSync(stagedFile, { force: true });
  else if (isPair(keyPem, staged)) renameDurably(stagedFile, join(dir, BOX_CERT_FILE));
}

/**
 * Makes a new key and self-signed certificate in `dir` (the key readable by its owner only, the
 * certificate by all). Refuses to replace an existing identity unless `force`: a new key is a new
 * fingerprint, so DNS names and pinned certificates of the old one stop working. Without `force`,
 * an identity whose replacement was interrupted after its new key was written is finished; a key
 * and certificate that are not a pair are refused (`loadBoxIdentity`). A replacement leaves the
 * old identity or the new one whatever the moment it is stopped at (`writeIdentity`).
 */
export async function initBoxIdentity(dir: string, options: { name?: string; force?: boolean } = {}): Promise<BoxIdentity> {
  if (hasBoxIdentity(dir) && !options.force) {
    finishReplacement(dir);
    return loadBoxIdentity(dir);
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const made = await createSelfSigned({ commonName: options.name ?? 'pairgate box' });
  writeIdentity(dir, made);
  return loadBoxIdentity(dir);
}
