import type net from 'node:net';
import tls from 'node:tls';
import { loadDeviceIdentity } from './device-identity.js';
import { FramedChannel } from './frames.js';
import { ListenerClosedError, PeerNotSavedError, PeerUnreachableError, PinMismatchError, ProtocolError, TrustNotSavedError, TrustUnconfirmedError } from './lan-errors.js';
import { handshakeFailure, listenTls, peerAddress } from './listen.js';
import type { PairingResult } from './offer.js';
import { unfinishedConnections } from './connection-limits.js';
import { checkPayloadOptions, DEFAULT_MAX_PAYLOAD_BYTES, type Progress } from './payload.js';
import { dialFirst } from './pinned-dial.js';
import { exchange, type ExchangeResult, type PeerIdentity } from './session.js';
import { peerCertificatePin } from './tls-identity.js';
import { DEFAULT_CONNECT_PORT } from './discovery.js';
import { othersWord, shortReason, type Answer } from './trust-commit.js';
import { TrustedPeerStore, type TrustedPeer } from './trusted-peers.js';

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

/** Longest silence from the other side, in the exchange and while waiting for its word on its save. */
const SESSION_TIMEOUT_MS = 30_000;

function exchangeOptions(options: TrustedSessionOptions, checkPeer: (peer: PeerIdentity) => void) {
  return {
    payloadPath: options.payloadPath,
    outDir: options.outDir ?? process.cwd(),
    maxPayloadBytes: options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
    timeoutMs: SESSION_TIMEOUT_MS,
    onProgress: options.onProgress,
    // Each side says it will tell the other whether it recorded the session (`saveSession`).
    confirmTrust: true,
    checkPeer,
  };
}

/** What `saveSession` records. */
interface SessionSave {
  store: TrustedPeerStore;
  /** The peer as this session saw it: its name and addresses now. */
  peer: Omit<TrustedPeer, 'pairedAt' | 'lastSeenAt'>;
  exchanged: ExchangeResult;
}

/**
 * The end of a session: each side records the other in its trusted peers (name, addresses, when
 * last seen), tells the other whether it could (`{t: 'saved'}`, or `lan_peer_not_saved` with the
 * kind of problem, as pairing does: `trust-commit.ts`), and reports success only when both did.
 * Each side used to save on its own and close, so when one could not (a config folder it cannot
 * write, a full disk, `peers.json` locked), the other had already printed "Connected", and a
 * listener that could not save waited on as if no session had run. Nothing is taken back: the
 * peer was trusted before and stays so, only this session's news is missing.
 *
 * Returns the peer as stored. Throws TrustNotSavedError (`lan_trust_not_saved`) when this side
 * could not save, PeerNotSavedError (`lan_peer_not_saved`) when the other could not,
 * TrustUnconfirmedError (`lan_trust_unconfirmed`) when it never said, or the other side's refusal.
 * An older pairgate on the other side (no `trust` in its identity) saves and closes without a word.
 */
async function saveSession(channel: FramedChannel, save: SessionSave): Promise<TrustedPeer> {
  let trusted: TrustedPeer | undefined;
  let failure: Error | undefined;
  try {
    trusted = await save.store.save(save.peer);
  } catch (error) {
    failure = error as Error;
  }
  const confirms = save.exchanged.peerConfirmsTrust;
  if (confirms) channel.send(failure ? { t: 'error', code: 'lan_peer_not_saved', message: `It could not record this session: ${shortReason(failure)}.` } : { t: 'saved' });
  const answer = confirms ? await othersWord(channel, SESSION_TIMEOUT_MS) : undefined;
  if (failure) throw new TrustNotSavedError(ownFailure(save, failure, answer));
  if (!answer || answer.kind === 'saved') return trusted!;
  throw othersFailure(save, answer);
}

/** What moved in the session, for a message that must not hide it: " (sent a.txt; received b.txt into /x/b.txt)". */
function whatMoved({ sent, received }: ExchangeResult): string {
  const parts = [...(sent ? [`sent ${sent.name}`] : []), ...(received ? [`received ${received.name} into ${received.path}`] : [])];
  return parts.length ? ` (${parts.join('; ')})` : '';
}

/** This side could not save: why, and what the other side did. */
function ownFailure(save: SessionSave, failure: Error, answer: Answer | undefined): string {
  const { name } = save.peer;
  const other = !answer ? ''
    : answer.kind === 'saved' ? ` "${name}" was told.`
      : answer.kind === 'not-saved' ? ` "${name}" could not record it either.`
        : ` "${name}" was told, but did not answer (${answer.error.message}).`;
  return `The session with "${name}" ran${whatMoved(save.exchanged)}, but this device could not record it in its trusted peers. ${failure.message.replace(/\.?$/, '.')}${other} Connect again once that is fixed.`;
}

/** The other side could not save, or never said whether it did. */
function othersFailure(save: SessionSave, answer: Exclude<Answer, { kind: 'saved' }>): Error {
  const { name } = save.peer;
  switch (answer.kind) {
    case 'not-saved':
      return new PeerNotSavedError(`"${name}" did not complete the session${whatMoved(save.exchanged)}. ${answer.reason} Fix the problem on "${name}" (it says what), then connect again.`);
    case 'silent':
      return new TrustUnconfirmedError(`The connection to "${name}" ended before it confirmed that it recorded the session${whatMoved(save.exchanged)} (${answer.error.message}). Connect again to be sure.`);
    case 'refused':
      return answer.error;
  }
}

/** The peer must say it is the device whose key TLS just proved: checked before a payload goes either way (`exchange`). */
function checkClaim(peer: PeerIdentity, keySha256: string, deviceId: string): void {
  if (peer.keySha256 !== keySha256 || peer.deviceId !== deviceId) {
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
 * What a trusted peer dialling in while another one's session runs is told. The code stays
 * `lan_listener_closed` (every version knows it, and the listener serves one session: it closes
 * once that one completes); the words say when trying again helps, where "Busy with another peer."
 * left the person with nothing to do.
 */
const LISTENER_BUSY = 'It is in a session with another trusted peer, and its listener serves one session only. '
  + 'If that session fails, it waits again: try again in a few seconds. Otherwise run "pairgate lan connect --listen" there again.';

/** What a trusted peer whose handshake ended just as the listener's --timeout ran out is told. */
const LISTENER_STOPPED = 'Its listener has just stopped: its --timeout ran out. Run "pairgate lan connect --listen" there again, then connect.';

/**
 * Waits for one trusted peer to connect (others are refused and logged). Connections that have not
 * finished their TLS handshake are limited per address and in all (`connection-limits.ts`) and cut
 * after `handshakeTimeoutMs` (default 10 s). `timeoutMs` (default 5 min) bounds the wait for a
 * session: one under way when it runs out is let finish, and settles `result` as it ends.
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
  // The timeout has passed: no new session starts. It bounds the wait for a trusted peer, not a
  // session under way (a file on its way), which is let finish and decides the outcome; the
  // listener used to stop in its middle, saying that no trusted peer had connected.
  let expired = false;
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
    log(handshakeFailure(peerAddress(socket), error, 'connect'));
    // Node reports a handshake timeout here but leaves the connection open: close it.
    socket.destroy();
  });
  server.on('secureConnection', (socket) => {
    unfinished.finished(socket);
    const address = peerAddress(socket);
    const channel = new FramedChannel(socket, 'listener');
    let pin: string;
    try {
      pin = peerCertificatePin(socket)?.toString('base64url') ?? '';
    } catch (error) {
      // A certificate Node cannot read (lan_bad_certificate): that connection is refused, the
      // listener waits on. Thrown from this handler, it ended the process. The other end is told
      // lan_not_trusted, which every version knows: a key that cannot be read is no trusted peer's.
      log(`Refused ${address}: ${(error as Error).message} [${(error as { code?: string }).code ?? 'lan_bad_certificate'}]`);
      return channel.refuse('lan_not_trusted', 'This device cannot read your TLS certificate, so it does not trust your key.');
    }
    const peer = pin ? peers.byKey(pin) : undefined;
    if (!peer) {
      log(`Refused ${address}: its key is not a trusted peer's.`);
      return channel.refuse('lan_not_trusted', 'This device does not trust your key. Pair first with "pairgate lan offer/join".');
    }
    if (expired) return channel.refuse('lan_listener_closed', LISTENER_STOPPED);
    if (busy) return channel.refuse('lan_listener_closed', LISTENER_BUSY);
    // Its TLS key is a trusted peer's: what it says may be shown in its own words.
    channel.authenticate();
    busy = true;
    void (async () => {
      try {
        const exchanged = await exchange(channel, device, [], exchangeOptions(options, (claimed) => checkClaim(claimed, pin, peer.deviceId)));
        const trusted = await saveSession(channel, {
          store: peers, exchanged,
          peer: { deviceId: peer.deviceId, name: exchanged.peer.name, keySha256: pin, addresses: [address, ...exchanged.peer.addresses, ...peer.addresses] },
        });
        channel.close();
        void close();
        settle?.resolve({ ...exchanged, trusted, address });
      } catch (error) {
        channel.endWith(error);
        if (error instanceof TrustNotSavedError) {
          // This device cannot save: every session would end the same way, so stop and say so.
          void close();
          settle?.reject(error);
          return;
        }
        busy = false;
        lastFailure = `"${peer.name}" at ${address}: ${(error as Error).message}`;
        if (expired) {
          settle?.reject(timedOut());
          return;
        }
        log(`The session with ${lastFailure} Still waiting for a trusted peer.`);
      }
    })();
  });
  const port = await listenTls(server, options.port ?? DEFAULT_CONNECT_PORT, options.host);
  const timeoutMs = options.timeoutMs ?? 300_000;
  const timedOut = () => {
    const seconds = Math.round(timeoutMs / 1000);
    return new ListenerClosedError(lastFailure
      ? `No session with a trusted peer completed within ${seconds} s, so the listener stopped. The last one failed, with ${lastFailure}`
      : `No trusted peer connected within ${seconds} s, so the listener stopped. Run it again and, while it waits, "pairgate lan connect ${device.name}" on the other device (--timeout to wait longer).`, 'lan_listen_timeout');
  };
  timeout.timer = setTimeout(() => {
    expired = true;
    // Takes no new connection; the session under way, if any, goes on and settles the result.
    void close();
    if (!busy) settle?.reject(timedOut());
    else log('The --timeout ran out during a session with a trusted peer: letting it finish, then stopping.');
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
    // No string here: the key refused is the one stored when the two paired.
    if (error instanceof PinMismatchError) {
      throw new PinMismatchError(`The device at ${addresses.join(', ')} port ${port} answered with another key than "${peer.name}" had when you paired; refusing it (possible man in the middle, or "${peer.name}" was set up again). If it was set up again, remove it (pairgate peers remove ${peer.deviceId.startsWith('-') ? '-- ' : ''}${peer.deviceId}) and pair anew.`);
    }
    throw error;
  });
  const channel = new FramedChannel(socket);
  // The listener's TLS key is the one pinned at pairing: what it says may be shown in its own words.
  channel.authenticate();
  try {
    const exchanged = await exchange(channel, device, [], exchangeOptions(options, (claimed) => checkClaim(claimed, peer.keySha256, peer.deviceId)));
    const trusted = await saveSession(channel, {
      store: peers, exchanged,
      peer: { deviceId: peer.deviceId, name: exchanged.peer.name, keySha256: peer.keySha256, addresses: [address, ...peer.addresses] },
    });
    channel.close();
    return { ...exchanged, trusted, address };
  } catch (error) {
    // The other device is told what failed here (a full disk, a timeout), then the connection ends.
    channel.endWith(error);
    throw error;
  }
}
