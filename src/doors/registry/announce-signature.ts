import { createHash, createPublicKey, X509Certificate, type JsonWebKey } from 'node:crypto';
import { compactVerify, decodeProtectedHeader, EmbeddedJWK } from 'jose';
import { InvalidRequestError, UnauthorizedError } from '../../core/errors.js';
import type { EphemeralStore } from '../../store/ports.js';
import { fingerprintForm, legacyFingerprint, spkiFingerprint } from '../../core/fingerprint.js';
import { signingKeyRefusal } from './announce-key.js';

/**
 * Authentication of an announcement (the original registry had none): the request carries
 * `Authorization: JWS <compact JWS>` signed by the box key, whose protected header embeds the public
 * key (`jwk`) and whose payload binds the exact body and a moment:
 *
 *     {"purpose": "pairgate-register", "sha256": <base64url SHA-256 of the body bytes>,
 *      "iat": <seconds>, "jti": <random, single use>, "aud": <the registry's origin>}
 *
 * `aud` names the registry the box announces to (`https://pair.example.com`), so an announcement
 * captured on its way (by a proxy, in a log) cannot be replayed to another registry, whose `jti`
 * memory never saw it, to list the box on another network. A registry that knows its own origin
 * (PAIRGATE_PUBLIC_URL set, with other names in PAIRGATE_REGISTRY_ORIGINS) refuses another one;
 * an announcement without `aud` (a box signing the earlier form) is still accepted.
 *
 * The fingerprint of the embedded key (SPKI SHA-256, base32) must equal the announced `client`. For a
 * legacy (SHA-1 of the certificate) fingerprint the header must also carry the certificate (`x5c`)
 * whose key is the signing key.
 */

/** The `purpose` claim of a registry announcement. */
export const ANNOUNCE_PURPOSE = 'pairgate-register';

/** Signature algorithms accepted (what box keys may be). */
const ALGORITHMS = ['ES256', 'ES384', 'EdDSA', 'Ed25519', 'RS256', 'PS256'];

/** What verifying an announcement needs. */
export interface AnnounceCheck {
  /** `Authorization` header value. */
  authorization: string | undefined;
  /** The raw body bytes the signature covers. */
  rawBody: string;
  /** The fingerprint the body announces. */
  client: string;
  now: number;
  maxSkewSeconds: number;
  allowLegacy: boolean;
  /** Remembers `jti`s so a captured announcement cannot be replayed (from another IP). */
  ephemeral: EphemeralStore;
  /** This registry's origins, when it knows them (PAIRGATE_PUBLIC_URL, PAIRGATE_REGISTRY_ORIGINS): an `aud` naming another is refused. */
  audiences?: readonly string[];
}

const unauthorized = (message: string, code: string): UnauthorizedError => new UnauthorizedError(message, code);

/** A `jti`: 16 to 128 visible ASCII characters (U+0021-U+007E). */
const JTI_PATTERN = /^[\x21-\x7e]{16,128}$/;

/** How long a `jti` is remembered past the last instant its signature passes: whichever store's rounding. */
const REPLAY_MEMORY_MARGIN_MS = 1_000;

/** Verifies the signature of an announcement; throws 401 with a machine code when it fails. */
export async function verifyAnnouncement(check: AnnounceCheck): Promise<void> {
  const sent = /^JWS(?:\s+(.*))?$/s.exec(check.authorization?.trim() ?? '');
  if (!sent) throw unauthorized('Sign the announcement with the box key: Authorization: JWS <compact JWS>.', 'signature_missing');
  // A JWS was sent but it is not one (empty parts, stray characters): the box signed wrongly, which
  // "sign it" would not help to find.
  const match = /^([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(sent[1] ?? '');
  if (!match) throw unauthorized('The Authorization header holds no compact JWS (three base64url parts joined by dots).', 'signature_invalid');
  const jws = match[1]!;
  const form = fingerprintForm(check.client);
  if (!form) throw new InvalidRequestError('client must be a box fingerprint (52 base32 characters).', undefined, 'validation_failed');
  if (form === 'legacy-sha1' && !check.allowLegacy) {
    throw new InvalidRequestError('Legacy (SHA-1) fingerprints are not accepted by this registry.', undefined, 'legacy_fingerprint_disabled');
  }

  let payloadBytes: Uint8Array;
  let jwk: JsonWebKey | undefined;
  let x5c: string[] | undefined;
  try {
    const header = decodeProtectedHeader(jws);
    if (!header.jwk || typeof header.jwk !== 'object') throw new Error('no jwk');
    jwk = header.jwk as JsonWebKey;
    x5c = Array.isArray(header.x5c) ? header.x5c : undefined;
    const verified = await compactVerify(jws, EmbeddedJWK, { algorithms: ALGORITHMS });
    payloadBytes = verified.payload;
  } catch {
    // A key boxes may not have (RSA-1024, P-521) that made this signature is said as the reason,
    // with what key to use, as the mutual-TLS route says it: "does not verify" sent people
    // looking at the signature.
    throw (jwk && signingKeyRefusal(jws, jwk)) || unauthorized('The signature of the announcement does not verify.', 'signature_invalid');
  }

  let spki: Buffer;
  try {
    spki = createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'der' });
  } catch {
    throw unauthorized('The signing key cannot be read.', 'signature_invalid');
  }
  let owner = spkiFingerprint(spki);
  if (form === 'legacy-sha1') {
    try {
      const cert = new X509Certificate(Buffer.from(x5c?.[0] ?? '', 'base64'));
      if (!cert.publicKey.export({ type: 'spki', format: 'der' }).equals(spki)) throw new Error('key differs');
      owner = legacyFingerprint(cert.raw);
    } catch {
      throw unauthorized('A legacy fingerprint needs the box certificate (x5c) of the signing key.', 'signature_invalid');
    }
  }
  if (owner !== check.client) throw unauthorized('The announcement is signed by another box than `client`.', 'fingerprint_mismatch');

  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(payloadBytes));
  } catch {
    throw unauthorized('The signed payload is not JSON.', 'signature_invalid');
  }
  // `null`, a number or a list is JSON too, and reading a claim of `null` threw (a 500).
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw unauthorized('The signed payload is not a JSON object of claims.', 'signature_invalid');
  const claims = parsed as { purpose?: unknown; sha256?: unknown; iat?: unknown; jti?: unknown; aud?: unknown };
  if (claims.purpose !== ANNOUNCE_PURPOSE) throw unauthorized('The signature is not for a registry announcement.', 'signature_invalid');
  if (claims.aud !== undefined) {
    if (typeof claims.aud !== 'string') throw unauthorized('The signature\'s aud must be the registry\'s origin, a string.', 'signature_invalid');
    if (check.audiences !== undefined && !check.audiences.includes(claims.aud)) {
      throw unauthorized(`The announcement is signed for another registry (${claims.aud.slice(0, 100)}), not ${check.audiences[0]}: announce to this one with its own address (its operator can add other names in PAIRGATE_REGISTRY_ORIGINS).`, 'wrong_audience');
    }
  }
  const bodyHash = createHash('sha256').update(check.rawBody, 'utf8').digest('base64url');
  if (claims.sha256 !== bodyHash) throw unauthorized('The signature covers another body.', 'body_mismatch');
  const iat = typeof claims.iat === 'number' ? claims.iat : NaN;
  if (!(Math.abs(check.now / 1000 - iat) <= check.maxSkewSeconds)) throw unauthorized('The signature is too old or from the future; check the clock.', 'signature_expired');
  // Visible ASCII only: the jti becomes a key of the ephemeral store, and a NUL in it (any string
  // passed before) was refused by PostgreSQL, a 500; a lone surrogate was stored as U+FFFD.
  if (typeof claims.jti !== 'string' || !JTI_PATTERN.test(claims.jti)) throw unauthorized('The signature needs a random jti: 16 to 128 visible ASCII characters (the SDK sends 22 base64url ones).', 'signature_invalid');
  // Remembered past the last millisecond the signature passes, (iat + skew) s: up to twice the
  // skew from now for one dated ahead. A memory ending on that millisecond let a replay in on it.
  const passesUntil = (iat + check.maxSkewSeconds) * 1000;
  const fresh = await check.ephemeral.setIfAbsent(`registry-jti|${owner}|${claims.jti}`, '1', Math.ceil(passesUntil - check.now) + REPLAY_MEMORY_MARGIN_MS, check.now);
  if (!fresh) throw unauthorized('This announcement was already used.', 'signature_replayed');
}
