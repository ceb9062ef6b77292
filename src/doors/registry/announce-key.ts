import { constants, createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import { UnauthorizedError } from '../../core/errors.js';
import { clientKeyRefusal, MIN_RSA_BITS } from '../dns/client-key.js';

/**
 * Why the registry's JWS route refuses the key an announcement is signed with, when that key, not
 * the signature, is the reason. jose verifies only the keys boxes may have (`ALGORITHMS` in
 * `announce-signature.ts`), and an RSA-1024 or P-521 box got `signature_invalid`, which sent its
 * owner looking at the signature, the clock or the body, while the mutual-TLS route said
 * `client_key_too_weak` / `client_key_unsupported` and what key to use (`clientKeyRefusal`).
 */

/** What to use instead, said in every refusal. */
const USE_INSTEAD = `Give the box a key that is ECDSA P-256 (what pairgate box init makes; --force makes a new one, with a new fingerprint) or P-384, Ed25519, or RSA of at least ${MIN_RSA_BITS} bits.`;

/**
 * The refusal of the key embedded in `jws` (its header's `jwk`, given as `jwk`), or undefined when
 * that key is one boxes may have, cannot be read, or did not make this signature: 401
 * `client_key_too_weak` (RSA under 2048 bits) or `client_key_unsupported` (another curve, Ed448...),
 * the mutual-TLS route's codes. Said only when the signature verifies with the key (checked here
 * with Node, since jose refuses such keys before verifying): a wrong signature stays
 * `signature_invalid`, whatever its key.
 */
export function signingKeyRefusal(jws: string, jwk: JsonWebKey): UnauthorizedError | undefined {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: jwk, format: 'jwk' });
  } catch {
    return undefined;
  }
  const refusal = keyRefusal(key, 'The announcement is signed with a key');
  return refusal && signedWith(jws, key) ? refusal : undefined;
}

/**
 * The refusal of `key` as a box's key, or undefined when boxes may have it: `clientKeyRefusal`'s
 * code (`client_key_too_weak`, `client_key_unsupported`), with `subject` ("The box has a key")
 * followed by what the key is and what to use instead. The SDK says it before signing
 * (`signAnnouncement`): jose refused such a key with "Named curve mismatch" or a TypeError.
 */
export function keyRefusal(key: KeyObject, subject: string): UnauthorizedError | undefined {
  const refusal = clientKeyRefusal(key);
  return refusal && new UnauthorizedError(`${subject} ${keyWords(key)}, which box identities may not use: ${USE_INSTEAD}`, refusal.code);
}

/** The key in words: its type, with its size or curve. */
function keyWords(key: KeyObject): string {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') return `that is RSA of ${details.modulusLength ?? 0} bits, too weak`;
  if (key.asymmetricKeyType === 'ec') return `on the curve ${details.namedCurve ?? 'unknown'}`;
  return `of type ${key.asymmetricKeyType ?? 'unknown'}`;
}

/** How each JWS `alg` is verified with Node: the digest (null for EdDSA) and the key's options. */
const VERIFIERS: Readonly<Record<string, { digest: string | null; options: Record<string, unknown> }>> = {
  RS256: { digest: 'sha256', options: { padding: constants.RSA_PKCS1_PADDING } },
  RS384: { digest: 'sha384', options: { padding: constants.RSA_PKCS1_PADDING } },
  RS512: { digest: 'sha512', options: { padding: constants.RSA_PKCS1_PADDING } },
  PS256: { digest: 'sha256', options: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } },
  PS384: { digest: 'sha384', options: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 } },
  PS512: { digest: 'sha512', options: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 64 } },
  ES256: { digest: 'sha256', options: { dsaEncoding: 'ieee-p1363' } },
  ES256K: { digest: 'sha256', options: { dsaEncoding: 'ieee-p1363' } },
  ES384: { digest: 'sha384', options: { dsaEncoding: 'ieee-p1363' } },
  ES512: { digest: 'sha512', options: { dsaEncoding: 'ieee-p1363' } },
  EdDSA: { digest: null, options: {} },
  Ed25519: { digest: null, options: {} },
  Ed448: { digest: null, options: {} },
};

/** Whether the compact `jws` is signed by `key` with the `alg` its header names (false for any doubt). */
function signedWith(jws: string, key: KeyObject): boolean {
  const [header, payload, signature] = jws.split('.');
  try {
    const alg = (JSON.parse(Buffer.from(header!, 'base64url').toString('utf8')) as { alg?: unknown }).alg;
    const verifier = typeof alg === 'string' && Object.hasOwn(VERIFIERS, alg) ? VERIFIERS[alg]! : undefined;
    if (!verifier) return false;
    return verify(verifier.digest, Buffer.from(`${header}.${payload}`, 'ascii'), { key, ...verifier.options }, Buffer.from(signature!, 'base64url'));
  } catch {
    return false;
  }
}
