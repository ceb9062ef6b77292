import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { TLSSocket } from 'node:tls';

/**
 * Proving possession of the pairing secret without sending it: each side answers with
 * HMAC-SHA256(secret, label | role | offer nonce | join nonce | TLS channel binding). Fresh nonces
 * from both sides make a recorded proof useless in any other session; the channel binding (an RFC
 * 5705 exporter value of this very TLS session) makes a proof relayed through a man in the middle
 * useless too; the role label stops one side's proof being reflected back as the other's.
 */

/** Bytes of every nonce. */
export const NONCE_BYTES = 32;

/** Who proves: the offering (listening) side or the joining side. */
export type ProofRole = 'offer' | 'join';

/** A fresh random nonce. */
export function newNonce(): Buffer {
  return randomBytes(NONCE_BYTES);
}

/** 32 bytes both ends of this TLS session share and nobody else knows. */
export function channelBinding(socket: TLSSocket): Buffer {
  return socket.exportKeyingMaterial(32, 'EXPORTER-pairgate-lan-v1', Buffer.alloc(0));
}

/** The proof `role` sends for these nonces and this channel. */
export function secretProof(secret: Buffer, role: ProofRole, offerNonce: Buffer, joinNonce: Buffer, binding: Buffer): Buffer {
  return createHmac('sha256', secret)
    .update('pairgate-lan-proof-v1\0')
    .update(`${role}\0`)
    .update(offerNonce)
    .update(joinNonce)
    .update(binding)
    .digest();
}

/**
 * The bytes of a base64url field the other device sent (a nonce, a proof): none when it is not a
 * string, so a field of the wrong type fails the proof's check like a wrong value, never a throw.
 */
export function receivedBytes(field: unknown): Buffer {
  return Buffer.from(typeof field === 'string' ? field : '', 'base64url');
}

/** Constant-time check of a received proof (any length accepted, wrong lengths simply fail). */
export function proofMatches(expected: Buffer, received: Buffer): boolean {
  if (received.length !== expected.length) return false;
  return timingSafeEqual(expected, received);
}

/** The key that authenticates multicast announcements: derived, so the secret itself signs nothing else. */
export function discoveryKey(secret: Buffer): Buffer {
  return createHmac('sha256', secret).update('pairgate-lan-discovery-v1').digest();
}
