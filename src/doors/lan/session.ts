import type { DeviceIdentity } from './device-identity.js';
import type { FramedChannel } from './frames.js';
import { checkKeyProof, makeKeyProof, type KeyProofContext } from './key-proof.js';
import { unicastProblem } from './ip-addresses.js';
import { nameProblem, writtenName } from './connection-string.js';
import { ProtocolError } from './lan-errors.js';
import { receivePayload, sendPayload, type PayloadInfo, type Progress } from './payload.js';

/**
 * What two devices do once their channel is authenticated (by the pairing secret or by pinned
 * device keys): tell each other who they are, exchange payloads both ways at once, say goodbye.
 */

/** The identity message's `trust` value of a side that confirms saving its peer (`trust-commit.ts`). */
export const TRUST_CONFIRMATION = 'confirm-v1';

/**
 * The identity message's `receipt` value of a side that ends the exchange with `{t: 'received'}`
 * once it has read all the other sent (its payload saved) and finished sending its own. Without
 * it, a sender whose file the other device could not save (a full disk, over its --max-size)
 * finished first and said "Sent", since nothing came back after its last byte; the other side's
 * error now arrives in the receipt's place. Used when both sides say so (an older pairgate does not).
 */
export const RECEIPT = 'received-v1';

/** How a device describes itself to its peer. */
export interface PeerIdentity {
  deviceId: string;
  name: string;
  /** SPKI SHA-256 of its long-lived device key, base64url. */
  keySha256: string;
  addresses: string[];
}

/** Options of the exchange. */
export interface ExchangeOptions {
  /** A file to send, if any. */
  payloadPath?: string;
  /** Where a received payload goes. */
  outDir: string;
  maxPayloadBytes: number;
  /** Longest silence from the other side. */
  timeoutMs: number;
  onProgress?: Progress;
  /**
   * Pairing: tell the peer that this side will confirm saving it as a trusted peer before keeping
   * it (`trust-commit.ts`). A peer that does not say so in turn is an older pairgate.
   */
  confirmTrust?: boolean;
  /**
   * Pairing: sign this session's channel binding with the device key the identity names, and
   * require the peer's signature in turn (`key-proof.ts`); `role` is this side's. Not needed where
   * mutual TLS with the device keys already proved them (`lan connect`).
   */
  proveKey?: KeyProofContext;
  /**
   * Checks the other side's identity (its key proven, with `proveKey`) before any payload is sent
   * or received; what it throws ends the exchange there. An offer paired by code makes sure here
   * that the key the joiner asks to be trusted under is the one it proved the code with.
   */
  checkPeer?: (peer: PeerIdentity) => void;
}

/** The outcome of the exchange. */
export interface ExchangeResult {
  peer: PeerIdentity;
  /** The peer said it confirms saving this device (`confirmTrust`); false for an older pairgate. */
  peerConfirmsTrust: boolean;
  sent?: PayloadInfo;
  received?: PayloadInfo;
}

function bytesField(value: unknown, bytes: number, what: string): string {
  if (typeof value !== 'string' || Buffer.from(value, 'base64url').length !== bytes || Buffer.from(value, 'base64url').toString('base64url') !== value) {
    throw new ProtocolError(`The other device sent an invalid ${what}.`);
  }
  return value;
}

/** Checks an identity message from the other side. */
export function readPeerIdentity(message: Record<string, unknown>): PeerIdentity {
  // A device not yet upgraded may send a name this version would not take (`writtenName`).
  const name = writtenName(typeof message.name === 'string' ? message.name : '');
  const problem = nameProblem(name);
  if (problem) throw new ProtocolError(`The other device sent an invalid name: ${problem}.`);
  const addresses = Array.isArray(message.addresses) ? message.addresses.filter((a): a is string => typeof a === 'string' && !unicastProblem(a)).slice(0, 8) : [];
  return {
    deviceId: bytesField(message.deviceId, 16, 'device id'),
    name,
    keySha256: bytesField(message.keySha256, 32, 'key pin'),
    addresses,
  };
}

/**
 * Runs the exchange on an authenticated channel. Each side sends its identity at once, and its
 * payload only once the other's identity has passed every check (its key proof, `checkPeer`): a
 * payload went out alongside the identity, so a peer refused for the key it named (a code joiner
 * naming another key than the one it proved the code with) had the file already. What the peer
 * sends meanwhile waits in the channel's bounded queue.
 */
export async function exchange(channel: FramedChannel, self: DeviceIdentity, selfAddresses: string[], options: ExchangeOptions): Promise<ExchangeResult> {
  channel.send({
    t: 'identity', deviceId: self.deviceId, name: self.name, keySha256: self.spkiSha256.toString('base64url'), addresses: selfAddresses, receipt: RECEIPT,
    // A field older readers ignore: they neither send nor expect the confirmation.
    ...(options.confirmTrust ? { trust: TRUST_CONFIRMATION } : {}),
    ...(options.proveKey ? { keyProof: makeKeyProof(self, options.proveKey) } : {}),
  });
  const identity = await channel.expect('identity', options.timeoutMs);
  const peer = readPeerIdentity(identity);
  if (options.proveKey) {
    const { role, binding } = options.proveKey;
    checkKeyProof(identity.keyProof, peer.keySha256, { role: role === 'offer' ? 'join' : 'offer', binding });
  }
  options.checkPeer?.(peer);
  const sending = sendPayload(channel, options.payloadPath, options.onProgress).then((sent) => {
    channel.send({ t: 'done' });
    return sent;
  });
  // Keep a failed send from becoming an unhandled rejection while we are still reading.
  sending.catch(() => undefined);
  const received = await receivePayload(channel, {
    outDir: options.outDir,
    maxBytes: options.maxPayloadBytes,
    timeoutMs: options.timeoutMs,
    onProgress: options.onProgress,
  });
  await channel.expect('done', options.timeoutMs);
  const sent = await sending;
  if (identity.receipt === RECEIPT) {
    // After our own 'done', so it never lands among our payload's frames.
    channel.send({ t: 'received' });
    await channel.expect('received', options.timeoutMs);
  }
  return { peer, peerConfirmsTrust: identity.trust === TRUST_CONFIRMATION, ...(sent ? { sent } : {}), ...(received ? { received } : {}) };
}
