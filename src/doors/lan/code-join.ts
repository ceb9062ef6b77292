import tls from 'node:tls';
import { InvalidRequestError } from '../../core/errors.js';
import { proveCodeAsJoiner } from './code-pake.js';
import { loadDeviceIdentity, type DeviceIdentity } from './device-identity.js';
import { listenForAnnouncements, type DiscoveryOptions, type ReceivedAnnouncement } from './discovery.js';
import { FramedChannel } from './frames.js';
import { AmbiguousDeviceError, DeviceNotFoundError, PeerUnreachableError, ProtocolError } from './lan-errors.js';
import type { JoinResult } from './join.js';
import { parsePairingCode } from './pairing-code.js';
import { checkPayloadOptions, DEFAULT_MAX_PAYLOAD_BYTES, type Progress } from './payload.js';
import { label } from './pinned-dial.js';
import { exchange } from './session.js';
import { TrustedPeerStore } from './trusted-peers.js';

/**
 * The joining side of pairing by short code (`lan join --code 1234-5678`): find the offer by its
 * plain announcements (or take its address), connect by TLS without a pin (its key is not known
 * yet) presenting this device's certificate, prove the code both ways by the PAKE of
 * `code-pake.ts`, which also proves that nobody relays the TLS connection, then the same exchange
 * and trusted-peer storage as the QR path. The announcement only says where to dial: whoever
 * answers must still prove the code.
 */

/** Options of a join by code. */
export interface CodeJoinOptions {
  configDir: string;
  deviceName?: string;
  /** Which announcing device: its name, device id or a 6+ character id prefix (as `lan nearby` lists it). */
  device?: string;
  /** Dial this address instead of looking for announcements (with `port`). */
  address?: string;
  port?: number;
  /** Where to listen for plain announcements. */
  discovery?: DiscoveryOptions;
  /** How long to look for the device (default 15 s). */
  discoveryTimeoutMs?: number;
  /** TLS connection timeout (default 5 s). */
  dialTimeoutMs?: number;
  /** How long each PAKE step may take (default 10 s). */
  handshakeTimeoutMs?: number;
  payloadPath?: string;
  outDir?: string;
  maxPayloadBytes?: number;
  selfAddresses?: string[];
  log?: (line: string) => void;
  onProgress?: Progress;
}

/** A code offer heard on the network. */
export interface CodeOffer {
  deviceId: string;
  name: string;
  address: string;
  port: number;
}

/** After the first code offer is heard, how much longer to listen for others (two announcement rounds). */
const SETTLE_MS = 1200;

function matches(announcement: ReceivedAnnouncement, selector: string): boolean {
  return announcement.deviceId === selector || announcement.name === selector || (selector.length >= 6 && announcement.deviceId.startsWith(selector));
}

/**
 * Listens for plain announcements of offers that take a code. With `device`, resolves with the
 * first that matches it; without, with the only one heard (waiting a moment after the first for
 * others), or throws AmbiguousDeviceError naming them. DeviceNotFoundError after `timeoutMs`.
 */
export async function findCodeOffer(options: { discovery?: DiscoveryOptions; device?: string; timeoutMs: number }): Promise<CodeOffer> {
  const heard = new Map<string, CodeOffer>();
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => { finish = resolve; });
  let settle: NodeJS.Timeout | undefined;
  const listener = await listenForAnnouncements({
    ...(options.discovery ?? {}),
    onAnnouncement: (a) => {
      if (a.authenticated || !a.code || a.role !== 'offer') return;
      if (options.device !== undefined && !matches(a, options.device)) return;
      if (!heard.has(a.deviceId)) heard.set(a.deviceId, { deviceId: a.deviceId, name: a.name ?? '', address: a.address, port: a.port });
      if (options.device !== undefined) finish();
      else settle ??= setTimeout(finish, SETTLE_MS);
    },
  });
  const timer = setTimeout(finish, options.timeoutMs);
  try {
    await done;
  } finally {
    clearTimeout(timer);
    clearTimeout(settle);
    await listener.stop();
  }
  const found = [...heard.values()];
  if (found.length === 1) return found[0]!;
  if (found.length === 0) {
    throw new DeviceNotFoundError(options.device !== undefined
      ? `No device named or with the id "${options.device}" offered a pairing code within ${Math.round(options.timeoutMs / 1000)} s. Run "pairgate lan nearby" to see who announces itself.`
      : `No device offering a pairing code (pairgate lan offer --code) announced itself within ${Math.round(options.timeoutMs / 1000)} s.`);
  }
  throw new AmbiguousDeviceError(`Several devices offer a pairing code: ${found.map((f) => `"${f.name}" (id ${f.deviceId})`).join(', ')}. Pick one with --device.`);
}

/** TLS to `address` without a pin (the PAKE authenticates), presenting this device's certificate. */
function dialForCode(address: string, port: number, device: DeviceIdentity, timeoutMs: number): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: address, port, minVersion: 'TLSv1.2', rejectUnauthorized: false, key: device.keyPem, cert: device.certPem });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new PeerUnreachableError(`${label(address, port)}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(new PeerUnreachableError(`${label(address, port)}: ${error.message}`));
    });
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}

/** Pairs with the device offering `code` (as typed: `1234-5678`, `12345678`, `1234 5678`). */
export async function joinWithCode(code: string, options: CodeJoinOptions): Promise<JoinResult> {
  const started = performance.now();
  const log = options.log ?? (() => undefined);
  const canonical = parsePairingCode(code);
  checkPayloadOptions(options.payloadPath, options.outDir);
  if ((options.address === undefined) !== (options.port === undefined)) throw new InvalidRequestError('Give both an address and a port, or neither.');
  const device = await loadDeviceIdentity(options.configDir, options.deviceName);
  let target: { address: string; port: number; deviceId?: string; name?: string };
  let via: JoinResult['via'];
  if (options.address !== undefined && options.port !== undefined) {
    target = { address: options.address, port: options.port };
    via = 'address';
  } else {
    const timeoutMs = options.discoveryTimeoutMs ?? 15_000;
    log(`Looking for ${options.device !== undefined ? `"${options.device}"` : 'a device offering a pairing code'} (up to ${Math.round(timeoutMs / 1000)} s)...`);
    target = await findCodeOffer({ discovery: options.discovery, device: options.device, timeoutMs });
    log(`Found "${target.name}" at ${label(target.address, target.port)}; proving the code.`);
    via = 'discovery';
  }
  const socket = await dialForCode(target.address, target.port, device, options.dialTimeoutMs ?? 5000);
  const channel = new FramedChannel(socket);
  try {
    const handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
    await proveCodeAsJoiner(channel, socket, canonical, device.spkiSha256, handshakeTimeoutMs);
    await channel.expect('welcome', handshakeTimeoutMs);
    const authenticatedMs = performance.now() - started;
    log(`Authenticated channel to ${label(target.address, target.port)} after ${Math.round(authenticatedMs)} ms: the code was proven both ways.`);
    const exchanged = await exchange(channel, device, options.selfAddresses ?? [], {
      payloadPath: options.payloadPath,
      outDir: options.outDir ?? process.cwd(),
      maxPayloadBytes: options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
      timeoutMs: 30_000,
      onProgress: options.onProgress,
    });
    // The announcement was advisory; a device that proved the code under another id is still a surprise worth stopping at.
    if (target.deviceId !== undefined && exchanged.peer.deviceId !== target.deviceId) throw new ProtocolError('The device that proved the code is not the one that announced itself.');
    const trusted = new TrustedPeerStore(options.configDir).save({
      deviceId: exchanged.peer.deviceId,
      name: exchanged.peer.name,
      keySha256: exchanged.peer.keySha256,
      addresses: [target.address, ...exchanged.peer.addresses],
    });
    channel.close();
    return { ...exchanged, trusted, address: target.address, via, authenticatedMs };
  } catch (error) {
    socket.destroy();
    throw error;
  }
}
