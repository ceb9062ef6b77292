import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { SRP, SrpClient, SrpServer } from 'fast-srp-hap';
import type { FramedChannel } from './frames.js';
import { ChannelBindingError, ProtocolError, WrongCodeError } from './lan-errors.js';
import { peerCertificatePin } from './tls-identity.js';

/**
 * Proving knowledge of the short pairing code (`lan offer --code`) over a TLS connection that no
 * pin protects yet, so that neither an eavesdropper nor whoever answers in the offer's place can
 * test codes offline.
 *
 * The PAKE is SRP-6a from fast-srp-hap, with the same group (3072-bit, SHA-512) and message order
 * HomeKit uses for its 8-digit setup code; the offer is the SRP server and derives a verifier from
 * the code with a fresh salt per attempt:
 *
 *   joiner -> offer  code-hello {v: 1}
 *   offer  -> joiner srp-start  {salt, B}
 *   joiner -> offer  srp-proof  {A, M1, bind}        bind = MAC(K, "join", channel)
 *   offer  -> joiner srp-verify {M2, bind}           bind = MAC(K, "offer", channel)
 *
 * SRP alone proves the code but not that the proof went over *this* TLS connection: a relay that
 * terminates TLS on each side (its own certificate towards the joiner, its own client connection to
 * the offer) could forward the four messages untouched and then read everything after. So both
 * sides MAC, under the SRP session key K that the relay cannot compute, this connection's RFC 5705
 * exporter value and both certificates' SPKI fingerprints; through a relay the two TLS sessions
 * differ, so each side sees a wrong MAC and stops. A wrong code fails at M1 (offer) or M2 (joiner)
 * and each such attempt is one online guess, counted by the offer.
 */

const PARAMS = SRP.params.hap;
/** SRP user name: fixed, both sides know it; the code is the password. */
const IDENTITY = Buffer.from('pairgate-lan-code');
/** Exporter label of the channel binding (RFC 5705). */
export const PAKE_EXPORTER_LABEL = 'pairgate-lan-pake';
const BIND_LABEL = 'pairgate-lan-pake-bind-v1';
/** Largest SRP value accepted (a 3072-bit number is 384 bytes). */
const MAX_VALUE_BYTES = 512;

/** SHA-256 of the SPKI of each side's TLS certificate: the offer's listener key and the joiner's device key. */
export interface ChannelKeys {
  offerSpki: Buffer;
  joinSpki: Buffer;
}

/** The binding MAC `role` sends: HMAC-SHA256(K, label | role | exporter | offer SPKI | join SPKI). */
export function bindingMac(sessionKey: Buffer, role: 'offer' | 'join', socket: TLSSocket, keys: ChannelKeys): Buffer {
  const exporter = socket.exportKeyingMaterial(32, PAKE_EXPORTER_LABEL, Buffer.alloc(0));
  return createHmac('sha256', sessionKey)
    .update(`${BIND_LABEL}\0${role}\0`)
    .update(exporter)
    .update(keys.offerSpki)
    .update(keys.joinSpki)
    .digest();
}

/**
 * The SPKI pin of the certificate the other end of `socket` presented, if any; throws
 * BadCertificateError (`lan_bad_certificate`) for one that cannot be read (`peerCertificatePin`).
 */
export const peerPin: (socket: TLSSocket) => Buffer | undefined = peerCertificatePin;

function field(message: Record<string, unknown>, name: string, min: number, max: number): Buffer {
  const value = message[name];
  const bytes = typeof value === 'string' ? Buffer.from(value, 'base64url') : Buffer.alloc(0);
  if (bytes.length < min || bytes.length > max) throw new ProtocolError(`The other device sent an invalid "${name}".`);
  return bytes;
}

function same(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The offer's verdict on one attempt: proven (with the joiner's key pin), or why not. */
export type OfferPakeOutcome = { ok: true; joinSpki: Buffer } | { ok: false; error: WrongCodeError | ChannelBindingError };

/**
 * The offer's side, after it read `code-hello`: runs SRP as the server with `code` and checks the
 * joiner's binding MAC. A wrong code or binding is returned (the caller refuses and counts it);
 * a malformed or late message throws ProtocolError.
 */
export async function proveCodeAsOffer(channel: FramedChannel, socket: TLSSocket, code: string, offerSpki: Buffer, timeoutMs: number): Promise<OfferPakeOutcome> {
  const joinSpki = peerPin(socket);
  // The joiner's device certificate is part of what is bound: without one there is nothing to pin later.
  if (!joinSpki) throw new ProtocolError('A device pairing by code must present its device certificate.');
  const salt = randomBytes(16);
  const server = new SrpServer(PARAMS, salt, IDENTITY, Buffer.from(code, 'utf8'), randomBytes(32));
  channel.send({ t: 'srp-start', salt: salt.toString('base64url'), B: server.computeB().toString('base64url') });
  const proof = await channel.expect('srp-proof', timeoutMs);
  try {
    server.setA(field(proof, 'A', 1, MAX_VALUE_BYTES));
  } catch (error) {
    if (error instanceof ProtocolError) throw error;
    throw new ProtocolError('The other device sent an invalid SRP value.');
  }
  // Compared here, in constant time: the library's checkM1 compares hex strings, and how long a
  // comparison takes must not tell a guesser how much of M1 was right.
  const expectedM1 = server._M1;
  if (!expectedM1 || !same(expectedM1, field(proof, 'M1', 1, 128))) {
    return { ok: false, error: new WrongCodeError('Wrong pairing code.') };
  }
  const sessionKey = server.computeK();
  const keys = { offerSpki, joinSpki };
  if (!same(bindingMac(sessionKey, 'join', socket, keys), field(proof, 'bind', 32, 32))) {
    return { ok: false, error: new ChannelBindingError('The code was proven over another TLS connection: a relay is in the middle.') };
  }
  channel.send({ t: 'srp-verify', M2: server.computeM2().toString('base64url'), bind: bindingMac(sessionKey, 'offer', socket, keys).toString('base64url') });
  return { ok: true, joinSpki };
}

/**
 * The joiner's side, on a fresh unpinned TLS connection where it presented its device
 * certificate: runs SRP as the client with `code`. Resolves with the offer's listener key pin once
 * the offer proved the code and the binding; throws WrongCodeError (the offer refused our code, or
 * could not prove it knows it) or ChannelBindingError (a relay).
 */
export async function proveCodeAsJoiner(channel: FramedChannel, socket: TLSSocket, code: string, joinSpki: Buffer, timeoutMs: number): Promise<Buffer> {
  const offerSpki = peerPin(socket);
  if (!offerSpki) throw new ProtocolError('The other device presented no certificate.');
  channel.send({ t: 'code-hello', v: 1 });
  const start = await channel.expect('srp-start', timeoutMs);
  const client = new SrpClient(PARAMS, field(start, 'salt', 16, 64), IDENTITY, Buffer.from(code, 'utf8'), randomBytes(32), true);
  try {
    client.setB(field(start, 'B', 1, MAX_VALUE_BYTES));
  } catch (error) {
    if (error instanceof ProtocolError) throw error;
    throw new ProtocolError('The other device sent an invalid SRP value.');
  }
  const sessionKey = client.computeK();
  const keys = { offerSpki, joinSpki };
  channel.send({
    t: 'srp-proof',
    A: client.computeA().toString('base64url'),
    M1: client.computeM1().toString('base64url'),
    bind: bindingMac(sessionKey, 'join', socket, keys).toString('base64url'),
  });
  // A wrong code comes back as the offer's {t: 'error', code: 'lan_wrong_code'}, thrown by expect.
  const verify = await channel.expect('srp-verify', timeoutMs);
  try {
    client.checkM2(field(verify, 'M2', 1, 128));
  } catch (error) {
    if (error instanceof ProtocolError) throw error;
    throw new WrongCodeError('The device that answered could not prove it knows the pairing code (not the device you meant, or an impostor).');
  }
  if (!same(bindingMac(sessionKey, 'offer', socket, keys), field(verify, 'bind', 32, 32))) {
    throw new ChannelBindingError();
  }
  return offerSpki;
}
