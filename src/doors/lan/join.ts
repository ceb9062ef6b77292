import type { TLSSocket } from 'node:tls';
import { decodeConnectionString, type ConnectionInfo } from './connection-string.js';
import { loadDeviceIdentity, type DeviceIdentity } from './device-identity.js';
import { dialByDiscovery, OFFER_ENDED } from './discovery-dial.js';
import type { DiscoveryOptions } from './discovery.js';
import { FramedChannel } from './frames.js';
import { bySubnet } from './ip-addresses.js';
import { DeviceIdMismatchError, PeerUnreachableError, PinMismatchError, ProtocolError, WrongSecretError } from './lan-errors.js';
import type { PairingResult } from './offer.js';
import { checkPayloadOptions, DEFAULT_MAX_PAYLOAD_BYTES, type Progress } from './payload.js';
import { dialFirst, label, type PinnedConnection } from './pinned-dial.js';
import { channelBinding, NONCE_BYTES, newNonce, proofMatches, receivedBytes, secretProof } from './secret-proof.js';
import { exchange } from './session.js';
import { commitTrust } from './trust-commit.js';
import { TrustedPeerStore } from './trusted-peers.js';

/**
 * The joining side of pairing: read the connection string, dial the offering device pinned by its
 * key (addresses in our own subnets first, then the rest, then every device that multicast
 * discovery hears announcing it, until one holds the pinned key), prove the secret both ways, exchange identities and payloads, store the peer as trusted.
 */

/** Options of a join. */
export interface JoinOptions {
  configDir: string;
  deviceName?: string;
  /** Per-dial timeout (default 5 s). */
  dialTimeoutMs?: number;
  /** Multicast fallback (default on); false turns it off. */
  discovery?: DiscoveryOptions | false;
  /** How long to look for the device by multicast (default 15 s). */
  discoveryTimeoutMs?: number;
  payloadPath?: string;
  outDir?: string;
  maxPayloadBytes?: number;
  /** Addresses of this device to tell the peer (default none: the peer sees where we came from). */
  selfAddresses?: string[];
  log?: (line: string) => void;
  onProgress?: Progress;
}

/** The outcome of a join. */
export interface JoinResult extends PairingResult {
  /** How the device was found. */
  via: 'address' | 'discovery';
  /** Milliseconds from the start of the join to the authenticated channel. */
  authenticatedMs: number;
}

async function locate(info: ConnectionInfo, options: JoinOptions, self: string, log: (line: string) => void): Promise<PinnedConnection & { via: JoinResult['via'] }> {
  const dialTimeoutMs = options.dialTimeoutMs ?? 5000;
  const { local, other } = bySubnet(info.addresses);
  let failure: Error | undefined;
  // What was dialled, for the final message: the progress lines already said why each failed,
  // so the error that ends the join names the addresses once instead of repeating them.
  const tried: string[] = [];
  for (const group of [local, other]) {
    if (group.length === 0) continue;
    const labels = group.map((a) => label(a, info.port));
    log(`Dialling ${labels.join(', ')}...`);
    try {
      return { ...(await dialFirst(group, info.port, info.keySha256, dialTimeoutMs)), via: 'address' };
    } catch (error) {
      failure = error as Error;
      tried.push(...labels);
      log(failure instanceof PinMismatchError ? `${labels.join(', ')}: answered with another key than the string pins.` : failure.message);
    }
  }
  if (options.discovery === false) {
    if (!(failure instanceof PeerUnreachableError)) throw failure ?? new PeerUnreachableError('The connection string has no address and discovery is off.');
    const where = `Cannot reach "${info.name}" at ${tried.join(', ')}`;
    if (failure.portClosed) throw new PeerUnreachableError(`${where}. ${OFFER_ENDED}`, true);
    throw new PeerUnreachableError(`${where}: no address of the string answered, and discovery is off (--no-discovery). Are both devices on the same network?`);
  }
  const discoveryTimeoutMs = options.discoveryTimeoutMs ?? 15_000;
  log(`Looking for "${info.name}" by multicast discovery (up to ${Math.round(discoveryTimeoutMs / 1000)} s)...`);
  const found = await dialByDiscovery({
    discovery: options.discovery ?? {},
    secret: info.secret,
    deviceId: info.deviceId,
    pin: info.keySha256,
    self,
    timeoutMs: discoveryTimeoutMs,
    dialTimeoutMs,
    name: info.name,
    ...(failure ? { earlier: failure, tried } : {}),
    log,
  });
  log(`Discovery found it at ${label(found.address, found.socket.remotePort ?? info.port)}.`);
  return { ...found, via: 'discovery' };
}

/** Pairs with the device of `connection` (a string or its decoded form). */
export async function join(connection: string | ConnectionInfo, options: JoinOptions): Promise<JoinResult> {
  const started = performance.now();
  const log = options.log ?? (() => undefined);
  const info = typeof connection === 'string' ? decodeConnectionString(connection) : connection;
  checkPayloadOptions(options.payloadPath, options.outDir);
  const device = await loadDeviceIdentity(options.configDir, options.deviceName);
  const { socket, address, via } = await locate(info, options, device.deviceId, log);
  const channel = new FramedChannel(socket);
  try {
    const joinNonce = newNonce();
    const binding = channelBinding(socket);
    channel.send({ t: 'hello', v: 1, nonce: joinNonce.toString('base64url') });
    const challenge = await channel.expect('challenge', 10_000);
    const offerNonce = receivedBytes(challenge.nonce);
    if (offerNonce.length !== NONCE_BYTES) throw new ProtocolError('The challenge carried no valid nonce.');
    const expected = secretProof(info.secret, 'offer', offerNonce, joinNonce, binding);
    if (!proofMatches(expected, receivedBytes(challenge.proof))) {
      // The device holds the pinned key, so it is most likely the offer itself and the secret
      // here the one that is wrong: a string mistyped or cut, or one from an earlier offer.
      channel.refuse('lan_wrong_secret', 'The connection string I hold has another secret than yours (mistyped, cut short, or from an earlier offer).');
      throw new WrongSecretError(`The device at ${label(address, info.port)} holds another secret than this connection string: the string was mistyped or cut short, or it is from an earlier offer (each offer makes a fresh one). Copy the string again, or scan the QR code, from the offer running now.`);
    }
    // The offer proved the secret: its refusals from now on may be shown in its own words.
    channel.authenticate();
    channel.send({ t: 'proof', proof: secretProof(info.secret, 'join', offerNonce, joinNonce, binding).toString('base64url') });
    await channel.expect('welcome', 10_000);
    const authenticatedMs = performance.now() - started;
    log(`Authenticated channel to "${info.name}" at ${label(address, info.port)} after ${Math.round(authenticatedMs)} ms.`);
    return await finishJoin(channel, device, options, { address, via, authenticatedMs, deviceId: info.deviceId, otherDevice: 'The device has another id than the connection string names: the string was mistyped (its key and secret are right, its device id is not). Nothing was saved; start the offer again and copy the string whole, or scan the QR code.' });
  } catch (error) {
    // The offer is told what failed here (a full disk, a timeout), then the connection ends.
    channel.endWith(error);
    throw error;
  }
}

/**
 * The end of a join once the channel is authenticated (by the connection string's secret or by the
 * code): exchange identities, check the peer is the device expected (`deviceId`, when known;
 * `otherDevice` says why not) before any payload goes either way, exchange the payloads, trust it
 * once it trusts us too (`commitTrust`), and close the channel.
 */
export async function finishJoin(
  channel: FramedChannel,
  device: DeviceIdentity,
  options: JoinOptions,
  reached: { address: string; via: JoinResult['via']; authenticatedMs: number; deviceId: string | undefined; otherDevice: string },
): Promise<JoinResult> {
  const exchanged = await exchange(channel, device, options.selfAddresses ?? [], {
    payloadPath: options.payloadPath,
    outDir: options.outDir ?? process.cwd(),
    maxPayloadBytes: options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
    timeoutMs: 30_000,
    onProgress: options.onProgress,
    confirmTrust: true,
    // Every pairing channel is TLS (pinned dial or the code's dial); the type only says Duplex.
    proveKey: { role: 'join', binding: channelBinding(channel.socket as TLSSocket) },
    // Checked as the identity arrives, before a payload goes either way: checked after the
    // exchange, a device that was not the one expected had this side's file already, and its
    // own was kept in --out, while both sides said that nothing was saved.
    checkPeer: (peer) => {
      if (reached.deviceId !== undefined && peer.deviceId !== reached.deviceId) throw new DeviceIdMismatchError(reached.otherDevice);
    },
  });
  // Kept only if the offer saved us too (`trust-commit.ts`): never a one-sided trust.
  const trusted = await commitTrust(channel, {
    store: new TrustedPeerStore(options.configDir),
    peer: { deviceId: exchanged.peer.deviceId, name: exchanged.peer.name, keySha256: exchanged.peer.keySha256, addresses: [reached.address, ...exchanged.peer.addresses] },
    self: device,
    peerConfirms: exchanged.peerConfirmsTrust,
    timeoutMs: 30_000,
  });
  channel.close();
  return { ...exchanged, trusted, address: reached.address, via: reached.via, authenticatedMs: reached.authenticatedMs };
}
