import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { NotFoundError } from '../../core/errors.js';
import { certificateFingerprints } from '../../core/fingerprint.js';
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

/** The default identity folder: $PAIRGATE_BOX_DIR, else ~/.pairgate/box. */
export function defaultBoxDir(env: Record<string, string | undefined> = process.env): string {
  return env.PAIRGATE_BOX_DIR || join(homedir(), '.pairgate', 'box');
}

/** True when `dir` holds an identity. */
export function hasBoxIdentity(dir: string): boolean {
  return existsSync(join(dir, BOX_KEY_FILE)) && existsSync(join(dir, BOX_CERT_FILE));
}

/** Reads the identity in `dir`; a missing identity tells the user how to make one. */
export function loadBoxIdentity(dir: string): BoxIdentity {
  // Something the user fixes (a 4xx: the CLI exits 2), with the command that does it.
  if (!hasBoxIdentity(dir)) throw new NotFoundError(`There is no box identity in ${dir}: run \`pairgate box init\` first (or point --dir at the folder that holds it).`, 'no_box_identity');
  const keyPem = readFileSync(join(dir, BOX_KEY_FILE), 'utf8');
  const certPem = readFileSync(join(dir, BOX_CERT_FILE), 'utf8');
  const { fingerprint, legacy } = certificateFingerprints(certPem);
  return { keyPem, certPem, fingerprint, legacyFingerprint: legacy, dir };
}

/**
 * Makes a new key and self-signed certificate in `dir` (the key readable by its owner only). Refuses
 * to replace an existing identity unless `force`: a new key is a new fingerprint, so DNS names and
 * pinned certificates of the old one stop working.
 */
export async function initBoxIdentity(dir: string, options: { name?: string; force?: boolean } = {}): Promise<BoxIdentity> {
  if (hasBoxIdentity(dir) && !options.force) return loadBoxIdentity(dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const made = await createSelfSigned({ commonName: options.name ?? 'pairgate box' });
  writeFileSync(join(dir, BOX_KEY_FILE), made.keyPem, { mode: 0o600 });
  // writeFileSync keeps the mode of an existing file; make sure a replaced key is private too.
  chmodSync(join(dir, BOX_KEY_FILE), 0o600);
  writeFileSync(join(dir, BOX_CERT_FILE), made.certPem, { mode: 0o644 });
  return loadBoxIdentity(dir);
}
