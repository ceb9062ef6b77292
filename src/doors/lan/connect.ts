import type net from 'node:net';
import tls from 'node:tls';
import { loadDeviceIdentity } from './device-identity.js';
import { FramedChannel } from './frames.js';
import { ListenerClosedError, PeerUnreachableError, ProtocolError } from './lan-errors.js';
import { handshakeFailure, listenTls, peerAddress } from './listen.js';
import type { PairingResult } from './offer.js';
import { unfinishedConnections } from './connection-limits.js';
import { checkPayloadOptions, DEFAULT_MAX_PAYLOAD_BYTES, type Progress } from './payload.js';
import { dialFirst } from './pinned-dial.js';
import { exchange, type ExchangeResult } from './session.js';
import { certificatePin } from './tls-identity.js';
import { DEFAULT_CONNECT_PORT } from './discovery.js';
import { TrustedPeerStore } from './trusted-peers.js';

/**
 * Connections between devices that paired before: mutual TLS with each side's long-lived device
 * key, each pinned to the key stored in the other's trusted-peer store. No QR code, no secret.
 */

export { DEFAULT_CONNECT_PORT };

/** Options shared by both ends. */
export interface TrustedSessionOptions {
  configDir: string;
  payloadPath?: string;
  outDir?: string;
  maxPayloadBytes?: number;
  log?: (line: string) => void;
  onProgress?: Progress;
}

function exchangeOptions(options: TrustedSessionOptions) {
  return {
    payloadPath: options.payloadPath,
    outDir: options.outDir ?? process.cwd(),
    maxPayloadBytes: options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
    timeoutMs: 30_000,
    onProgress: options.onProgress,
  };
}

/** The peer must say it is the device whose key TLS just proved. */
function checkClaim(exchanged: ExchangeResult, keySha256: string, deviceId: string): void {
  if (exchanged.peer.keySha256 !== keySha256 || exchanged.peer.deviceId !== deviceId) {
    throw new ProtocolError('The peer claimed another identity than its TLS key.');
  }
}

/** A listener that accepts one trusted peer. */
export interface TrustedListener {
  port: number;
  result: Promise<PairingResult>;
  close(): Promise<void>;
}

/**
 * Waits for one trusted peer to connect (others are refused and logged). Connections that have not
 * finished their TLS handshake are limited per address and in all (`connection-limits.ts`) and cut
 * after `handshakeTimeoutMs` (default 10 s).
 */
export async function listenForTrustedPeer(options: TrustedSessionOptions & { host?: string; port?: number; timeoutMs?: number; handshakeTimeoutMs?: number }): Promise<TrustedListener> {
  checkPayloadOptions(options.payloadPath, options.outDir);
  const log = options.log ?? (() => undefined);
  const device = await loadDeviceIdentity(options.configDir);
  const peers = new TrustedPeerStore(options.configDir);
  // Read once now: a damaged file is a clear error at start, not a failure at each connection.
  peers.list();
  let settle: { resolve: (r: PairingResult) => void; reject: (e: Error) => void } | undefined;
  const result = new Promise<PairingResult>((resolve, reject) => { settle = { resolve, reject }; });
  result.catch(() => undefined);
  let busy = false;
  // Why the last session failed (the listener waits on for another): said again at the timeout,
  // which otherwise claimed that no peer had connected.
  let lastFailure: string | undefined;
  const server = tls.createServer({
    key: device.keyPem, cert: device.certPem, minVersion: 'TLSv1.2', requestCert: true, rejectUnauthorized: false,
    handshakeTimeout: options.handshakeTimeoutMs ?? 10_000,
  });
  const unfinished = unfinishedConnections({ log });
  server.on('connection', (socket: net.Socket) => { unfinished.admit(socket); });
  const timeout: { timer?: NodeJS.Timeout } = {};
  const close = () => new Promise<void>((resolve) => {
    clearTimeout(timeout.timer);
    server.close(() => resolve());
    // close() waits for every connection: none left mid-handshake by a stranger may hold it.
    unfinished.dropAll();
  });
  server.on('tlsClientError', (error, socket) => {
    log(handshakeFailure(peerAddress(socket), error));
    // Node reports a handshake timeout here but leaves the connection open: close it.
    socket.destroy();
  });
  server.on('secureConnection', (socket) => {
    unfinished.finished(socket);
    const address = peerAddress(socket);
    const channel = new FramedChannel(socket);
    const raw = socket.getPeerCertificate().raw;
    const pin = raw ? certificatePin(raw).toString('base64url') : '';
    const peer = pin ? peers.byKey(pin) : undefined;
    if (!peer) {
      log(`Refused ${address}: its key is not a trusted peer's.`);
      return channel.refuse('lan_not_trusted', 'This device does not trust your key. Pair first with "pairgate lan offer/join".');
    }
    if (busy) return channel.refuse('lan_listener_closed', 'Busy with another peer.');
    busy = true;
    void (async () => {
      try {
        const exchanged = await exchange(channel, device, [], exchangeOptions(options));
        checkClaim(exchanged, pin, peer.deviceId);
        const trusted = await peers.save({ deviceId: peer.deviceId, name: exchanged.peer.name, keySha256: pin, addresses: [address, ...exchanged.peer.addresses, ...peer.addresses] });
        channel.close();
        void close();
        settle?.resolve({ ...exchanged, trusted, address });
      } catch (error) {
        channel.endWith(error);
        busy = false;
        lastFailure = `"${peer.name}" at ${address}: ${(error as Error).message}`;
        log(`The session with ${lastFailure} Still waiting for a trusted peer.`);
      }
    })();
  });
  const port = await listenTls(server, options.port ?? DEFAULT_CONNECT_PORT, options.host);
  const timeoutMs = options.timeoutMs ?? 300_000;
  timeout.timer = setTimeout(() => {
    void close();
    const seconds = Math.round(timeoutMs / 1000);
    settle?.reject(new ListenerClosedError(lastFailure
      ? `No session with a trusted peer completed within ${seconds} s, so the listener stopped. The last one failed, with ${lastFailure}`
      : `No trusted peer connected within ${seconds} s, so the listener stopped. Run it again and, while it waits, "pairgate lan connect ${device.name}" on the other device (--timeout to wait longer).`, 'lan_listen_timeout'));
  }, timeoutMs);
  timeout.timer.unref();
  return {
    port,
    result,
    close: async () => {
      settle?.reject(new ListenerClosedError('The listener was closed.'));
      await close();
    },
  };
}

/** Connects to a trusted peer (by id, key pin or name) over mutual TLS pinned to its stored key. */
export async function connectToTrustedPeer(selector: string, options: TrustedSessionOptions & { addresses?: string[]; port?: number; dialTimeoutMs?: number }): Promise<PairingResult> {
  checkPayloadOptions(options.payloadPath, options.outDir);
  const log = options.log ?? (() => undefined);
  const device = await loadDeviceIdentity(options.configDir);
  const peers = new TrustedPeerStore(options.configDir);
  const peer = peers.find(selector);
  const addresses = options.addresses?.length ? options.addresses : peer.addresses;
  const port = options.port ?? DEFAULT_CONNECT_PORT;
  log(`Connecting to "${peer.name}" at ${addresses.join(', ')} port ${port}...`);
  const { socket, address } = await dialFirst(addresses, port, Buffer.from(peer.keySha256, 'base64url'), options.dialTimeoutMs ?? 5000, device).catch((error: unknown) => {
    // The device is there and nothing listens: the person forgot the other half, say which.
    if (error instanceof PeerUnreachableError && error.portClosed) {
      throw new PeerUnreachableError(`${error.message} Nothing listens there: run "pairgate lan connect --listen" on "${peer.name}" first${port === DEFAULT_CONNECT_PORT ? '' : ` (with --port ${port})`}, then connect again.`, true);
    }
    throw error;
  });
  const channel = new FramedChannel(socket);
  try {
    const exchanged = await exchange(channel, device, [], exchangeOptions(options));
    checkClaim(exchanged, peer.keySha256, peer.deviceId);
    const trusted = await peers.save({ deviceId: peer.deviceId, name: exchanged.peer.name, keySha256: peer.keySha256, addresses: [address, ...peer.addresses] });
    channel.close();
    return { ...exchanged, trusted, address };
  } catch (error) {
    // The other device is told what failed here (a full disk, a timeout), then the connection ends.
    channel.endWith(error);
    throw error;
  }
}
