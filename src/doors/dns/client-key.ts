import type { KeyObject } from 'node:crypto';
import { UnauthorizedError } from '../../core/errors.js';

/**
 * Which client certificate keys the update API takes: the keys a registry announcement may be signed
 * with (`announce-signature.ts`: ES256, ES384, EdDSA over Ed25519, RS256 and PS256, which jose takes
 * only from RSA keys of 2048 bits or more). The TLS handshake alone took any key OpenSSL does, RSA of
 * 1024 bits included, so a box could own its names here with a key the registry refuses. The
 * registry's mutual-TLS `POST /register` refuses the same keys (`register-route.ts`).
 */

/** RSA moduli shorter than this are refused (jose's bound for RS256 and PS256). */
export const MIN_RSA_BITS = 2048;

/** The curves of the EC keys taken, by OpenSSL's names: P-256 (ES256) and P-384 (ES384). */
const CURVES: ReadonlyMap<string, string> = new Map([['prime256v1', 'P-256'], ['secp384r1', 'P-384']]);

/** What to use instead, said in every refusal. */
const USE_INSTEAD = `Use a certificate whose key is ECDSA P-256 (what pairgate box init makes) or P-384, Ed25519, or RSA of at least ${MIN_RSA_BITS} bits.`;

/**
 * The refusal of a client certificate's key, or undefined when the key is one the update API takes:
 * 401 `client_key_too_weak` for RSA under 2048 bits, 401 `client_key_unsupported` for any other key
 * the registry does not take (an EC key on another curve, DSA, Ed448, an RSA-PSS key).
 *
 * An RSA-PSS key (SPKI algorithm id-RSASSA-PSS, not rsaEncryption) passes the TLS handshake but can
 * sign no announcement: it has no JWK form (Node and jose refuse to export or sign with it as one),
 * and the same numbers sent as an RSA JWK are another SPKI, so another fingerprint than the
 * certificate's. Taken here, it owned names whose box could never announce itself with a JWS.
 */
export function clientKeyRefusal(key: KeyObject): UnauthorizedError | undefined {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (type === 'rsa-pss') {
    return new UnauthorizedError(`The client certificate's key is RSA-PSS (an RSA key restricted to PSS signatures), which cannot sign registry announcements (a plain RSA key signs PS256 too): ${USE_INSTEAD}`, 'client_key_unsupported');
  }
  if (type === 'rsa') {
    const bits = details.modulusLength ?? 0;
    if (bits >= MIN_RSA_BITS) return undefined;
    return new UnauthorizedError(`The client certificate's key is RSA of ${bits} bits, too weak: ${USE_INSTEAD}`, 'client_key_too_weak');
  }
  if (type === 'ec') {
    const curve = details.namedCurve ?? 'unknown';
    if (CURVES.has(curve)) return undefined;
    return new UnauthorizedError(`The client certificate's key is on the curve ${curve}, which box identities may not use: ${USE_INSTEAD}`, 'client_key_unsupported');
  }
  if (type === 'ed25519') return undefined;
  return new UnauthorizedError(`The client certificate's key is of type ${type ?? 'unknown'}, which box identities may not use: ${USE_INSTEAD}`, 'client_key_unsupported');
}
