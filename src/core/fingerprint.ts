import { createHash, X509Certificate } from 'node:crypto';

/**
 * A box's identity is the fingerprint of its public key. Two forms exist:
 *
 * - `spki-sha256` (the default, and the only one used in DNS names): SHA-256 of the
 *   SubjectPublicKeyInfo, base32 (RFC 4648 alphabet, lower case, no padding) = 52 characters, which
 *   fits in one DNS label (<= 63). Hashing the key rather than the certificate means a box keeps its
 *   identity when it renews its self-signed certificate.
 * - `legacy-sha1` (Mozilla Project Link): SHA-1 of the whole DER certificate, 40 lower-case hex
 *   characters. Accepted only where PAIRGATE_REGISTRY_LEGACY_FINGERPRINT allows it.
 */

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** Length of an `spki-sha256` fingerprint. */
export const FINGERPRINT_LENGTH = 52;

/** Matches an `spki-sha256` fingerprint. */
export const FINGERPRINT_PATTERN = /^[a-z2-7]{52}$/;

/** Matches a `legacy-sha1` fingerprint. */
export const LEGACY_FINGERPRINT_PATTERN = /^[0-9a-f]{40}$/;

/** RFC 4648 base32, lower case, without padding. */
export function base32Lower(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(buffer << (5 - bits)) & 31];
  return out;
}

/** The `spki-sha256` fingerprint of a DER SubjectPublicKeyInfo. */
export function spkiFingerprint(spkiDer: Uint8Array): string {
  return base32Lower(createHash('sha256').update(spkiDer).digest());
}

/** The `legacy-sha1` fingerprint of a DER certificate. */
export function legacyFingerprint(certificateDer: Uint8Array): string {
  return createHash('sha1').update(certificateDer).digest('hex');
}

/** Both fingerprints of a certificate (PEM text or DER bytes). */
export function certificateFingerprints(certificate: string | Uint8Array): { fingerprint: string; legacy: string } {
  const cert = new X509Certificate(typeof certificate === 'string' ? certificate : Buffer.from(certificate));
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  return { fingerprint: spkiFingerprint(spki), legacy: legacyFingerprint(cert.raw) };
}

/** Which form a string is in, or undefined when it is neither. */
export function fingerprintForm(value: string): 'spki-sha256' | 'legacy-sha1' | undefined {
  if (FINGERPRINT_PATTERN.test(value)) return 'spki-sha256';
  if (LEGACY_FINGERPRINT_PATTERN.test(value)) return 'legacy-sha1';
  return undefined;
}
