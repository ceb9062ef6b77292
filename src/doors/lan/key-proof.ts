import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { DeviceIdentity } from './device-identity.js';
import { KeyNotProvenError } from './lan-errors.js';
import type { ProofRole } from './secret-proof.js';

/**
 * Proof that a pairing peer holds the device key it asks to be trusted under.
 *
 * Pairing runs over TLS with a per-offer session key (the QR code pins that one), and the identity
 * message then names each side's long-lived device key by its pin: the key a later `lan connect`
 * pins. The secret (or code) proves who is at the other end, not that this end holds the key it
 * names, so a peer could make us trust a key it does not hold, say another device's. Each side now
 * sends its device public key and its signature over this TLS session's channel binding:
 *
 * ```
 * keyProof = { publicKey: SPKI DER, signature: ECDSA-SHA256(device key, label | role | binding) }
 * ```
 *
 * The receiver checks the public key hashes to the pin named and the signature verifies. The
 * binding makes a signature from any other session useless, the role stops one side's signature
 * being reflected back as the other's.
 */

/** What an identity message carries as `keyProof`. */
export interface KeyProof {
  /** The device's SubjectPublicKeyInfo, DER, base64url. */
  publicKey: string;
  /** Its signature over the signed bytes (`signedBytes`), DER-encoded ECDSA, base64url. */
  signature: string;
}

/** Where a key proof is made or checked: the signer's role and the TLS session's binding. */
export interface KeyProofContext {
  role: ProofRole;
  binding: Buffer;
}

const LABEL = 'pairgate-lan-device-key-v1\0';
/** Longest public key or signature read from the other device (a P-256 SPKI is 91 bytes). */
const MAX_FIELD_CHARS = 2048;

function signedBytes(role: ProofRole, binding: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${LABEL}${role}\0`), binding]);
}

/** This device's proof that it holds `device`'s key, made as `context.role` on this session. */
export function makeKeyProof(device: DeviceIdentity, context: KeyProofContext): KeyProof {
  const publicKey = createPublicKey(device.keyPem).export({ type: 'spki', format: 'der' });
  return {
    publicKey: publicKey.toString('base64url'),
    signature: sign('sha256', signedBytes(context.role, context.binding), device.keyPem).toString('base64url'),
  };
}

function field(proof: Record<string, unknown>, name: keyof KeyProof): Buffer | undefined {
  const value = proof[name];
  return typeof value === 'string' && value.length <= MAX_FIELD_CHARS ? Buffer.from(value, 'base64url') : undefined;
}

function publicKeyOf(der: Buffer): KeyObject | undefined {
  try {
    return createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch {
    return undefined;
  }
}

/**
 * Checks the `keyProof` the other side sent as `context.role`: it must hold the key whose pin
 * (`claimedPin`, base64url SPKI SHA-256) its identity named. Throws KeyNotProvenError
 * (`lan_key_not_proven`) when the proof is missing, malformed, of another key, or does not verify.
 */
export function checkKeyProof(received: unknown, claimedPin: string, context: KeyProofContext): void {
  const proof = typeof received === 'object' && received !== null ? received as Record<string, unknown> : {};
  const der = field(proof, 'publicKey');
  const signature = field(proof, 'signature');
  if (!der || !signature) {
    throw new KeyNotProvenError('The other device did not prove it holds the device key it asks to be trusted under (an older pairgate sends no such proof: update it there, then pair again).');
  }
  const key = publicKeyOf(der);
  // The pin of the key as TLS will later show it (`certificatePin`), whatever encoding was sent.
  if (!key || createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('base64url') !== claimedPin) {
    throw new KeyNotProvenError();
  }
  let valid = false;
  try {
    valid = verify('sha256', signedBytes(context.role, context.binding), key, signature);
  } catch {
    // A key of a kind that cannot verify this (or a signature it cannot parse) proves nothing.
  }
  if (!valid) throw new KeyNotProvenError();
}
