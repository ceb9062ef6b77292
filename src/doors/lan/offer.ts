import { randomBytes } from 'node:crypto';
import tls from 'node:tls';
import { encodeConnectionString, describeConnection, type ConnectionInfo } from './connection-string.js';
import { loadDeviceIdentity } from './device-identity.js';
import { listenForAnnouncements, startAnnouncer, type Announcer, type AnnouncementListener, type DiscoveryOptions } from './discovery.js';
import { proveCodeAsOffer } from './code-pake.js';
import { FramedChannel, remoteError } from './frames.js';
import { ListenerClosedError, ProtocolError } from './lan-errors.js';
import { handshakeFailure, listenTls, peerAddress } from './listen.js';
import { sniffingServer } from './protocol-sniffer.js';
import { terminalText } from './terminal-text.js';
import { runDoctor, type DoctorReport } from './doctor.js';
import { discoverOwnAddresses, type OwnIpReport } from './own-ip.js';
import { formatPairingCode, newPairingCode } from './pairing-code.js';
import { checkPayloadOptions, DEFAULT_MAX_PAYLOAD_BYTES, type Progress } from './payload.js';
import { channelBinding, NONCE_BYTES, newNonce, proofMatches, receivedBytes, secretProof } from './secret-proof.js';
import { exchange, type ExchangeResult } from './session.js';
import { createTlsIdentity } from './tls-identity.js';
import { commitTrust } from './trust-commit.js';
import { TrustedPeerStore, type TrustedPeer } from './trusted-peers.js';

/**
 * The offering side of pairing: a TLS listener with a fresh key, a connection string (the QR
 * code) that pins that key and carries a fresh secret, and the rules that keep it safe: every
 * joiner must prove the secret before anything else, failures are counted and end the listener
 * after `maxFailures`, the first authenticated peer wins and everyone else is refused, and the
 * listener closes at its timeout. With `code`, a joiner may instead prove a short pairing code by
 * a PAKE bound to the TLS connection (`code-pake.ts`); each wrong code is one failed attempt.
 */

/** Options of an offer. */
export interface OfferOptions {
  configDir: string;
  deviceName?: string;
  /** Addresses to put in the string (default: own-IP discovery). */
  addresses?: string[];
  /** Bind address (default all addresses). */
  host?: string;
  port?: number;
  /** How long to wait for a peer (default 5 min). */
  timeoutMs?: number;
  /** Failed attempts before the listener gives up (default 5). */
  maxFailures?: number;
  /** How long one joiner may take to prove the secret (default 10 s). */
  handshakeTimeoutMs?: number;
  payloadPath?: string;
  outDir?: string;
  maxPayloadBytes?: number;
  /** Authenticated multicast announcements (default on); false turns them off. */
  discovery?: DiscoveryOptions | false;
  /** Also send plain announcements that `lan nearby` lists. */
  announcePlain?: boolean;
  /**
   * Also accept a short pairing code (`lan offer --code`): a joiner that knows `Offer.code` pairs
   * without the connection string. Implies plain announcements (when discovery is on), so that
   * `lan nearby` and `lan join --code` find this device.
   */
  code?: boolean;
  /** A pairgate server whose DNS and `/healthz` `GET /diagnostics` also checks (as `pairgate doctor --server`). */
  server?: string;
  /** Longest time `GET /diagnostics` spends on the doctor's checks (default 10 s). */
  diagnosticsTimeoutMs?: number;
  log?: (line: string) => void;
  onProgress?: Progress;
}

/** The outcome of a successful pairing. */
export interface PairingResult extends ExchangeResult {
  /** The peer as stored in the trusted-peer store. */
  trusted: TrustedPeer;
  /** Where the peer was reached (or came from). */
  address: string;
}

/** A running offer. */
export interface Offer {
  /** The connection string: holds the secret, show it only to the peer. */
  connectionString: string;
  /** The same without the secret. */
  description: ReturnType<typeof describeConnection>;
  port: number;
  /** Own-IP discovery, when it chose the addresses. */
  ownIp?: OwnIpReport;
  /** With `code`: the short pairing code to show, e.g. `1234-5678` (a secret, like the string). */
  code?: string;
  /** Failed attempts so far. */
  failures(): number;
  /** Settles when a peer paired, or the offer ended (timeout, too many failures, close). */
  result: Promise<PairingResult>;
  /** Stops listening; `result` rejects if no peer paired yet. */
  close(): Promise<void>;
}

/** Default bound of `GET /diagnostics`: the doctor's checks, each limited further below. */
const DIAGNOSTICS_TIMEOUT_MS = 10_000;

/**
 * Most joiners proving the secret at the same time. When all are taken, a newcomer takes the place
 * of the oldest one that has not sent a byte yet (it made no guess, so the failure limit would never
 * stop it holding the place); only when every one is mid-proof is the newcomer cut off.
 */
const MAX_PENDING = 8;

/** What a device turned away while all MAX_PENDING places are taken is told (`lan_offer_busy`). */
const BUSY = 'Too many devices are trying to pair with this one at once. Try again in a few seconds.';

/**
 * Why a joiner failed, for the offer's log. A joiner checks the offer's proof first, so one whose
 * string holds another secret refuses it with `lan_wrong_secret`: said here as what it means for
 * this side, not in the joiner's words ("the other device refused: ...").
 */
function failureReason(error: Error): string {
  if ((error as { code?: string }).code === 'lan_wrong_secret') return 'its connection string holds another secret (mistyped, cut short, or from an earlier offer)';
  return error.message;
}

/** Starts an offer. */
export async function startOffer(options: OfferOptions): Promise<Offer> {
  const log = options.log ?? (() => undefined);
  const timeoutMs = options.timeoutMs ?? 300_000;
  const maxFailures = options.maxFailures ?? 5;
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
  checkPayloadOptions(options.payloadPath, options.outDir);
  const device = await loadDeviceIdentity(options.configDir, options.deviceName);
  const peers = new TrustedPeerStore(options.configDir);
  const session = await createTlsIdentity(`${device.name} pairing`, Math.ceil(timeoutMs / 1000) + 600);
  const secret = randomBytes(32);
  const pairingCode = options.code ? newPairingCode() : undefined;

  let state: 'listening' | 'paired' | 'closed' = 'listening';
  let failures = 0;
  const pending = new Set<FramedChannel>();
  // The pending joiners that have not sent a byte yet, with their address, oldest first (a Map
  // keeps insertion order).
  const silent = new Map<FramedChannel, string>();
  const release = (channel: FramedChannel) => {
    pending.delete(channel);
    silent.delete(channel);
  };
  let settle: { resolve: (r: PairingResult) => void; reject: (e: Error) => void } | undefined;
  const result = new Promise<PairingResult>((resolve, reject) => { settle = { resolve, reject }; });
  result.catch(() => undefined);

  const server = tls.createServer({
    key: session.keyPem,
    cert: session.certPem,
    minVersion: 'TLSv1.2',
    // Node's default is two minutes: an unfinished handshake holds a socket and, until it ends, a
    // place among the few that one address may hold (`connection-limits.ts`).
    handshakeTimeout: handshakeTimeoutMs,
    // A code joiner presents its device certificate: its key is bound into the PAKE and pinned
    // afterwards. Any certificate is taken here; the PAKE decides.
    ...(pairingCode ? { requestCert: true, rejectUnauthorized: false } : {}),
  });
  let announcer: Announcer | undefined;
  let plainAnnouncer: Announcer | undefined;
  let joinerListener: AnnouncementListener | undefined;
  const timeout: { timer?: NodeJS.Timeout } = {};
  // Filled in once own-IP discovery has run; a joiner that is faster gets none.
  let selfAddresses: string[] = [];

  const stopListening = async () => {
    clearTimeout(timeout.timer);
    const stopping = [announcer?.stop(), plainAnnouncer?.stop(), joinerListener?.stop()];
    announcer = plainAnnouncer = undefined;
    joinerListener = undefined;
    await Promise.all(stopping);
    // Resolves once the paired connection (if any) has ended too.
    await new Promise<void>((resolve) => front.close(() => resolve()));
  };
  // Why the offer closed, in words for the devices still (or then) connecting: a joiner told only
  // "The pairing listener closed" did not learn that guesses ended it, nor what to do.
  let closedAs = { code: 'lan_listener_closed', message: 'The pairing listener closed.' };
  const end = (error: Error) => {
    if (state !== 'listening') return;
    state = 'closed';
    const code = (error as { code?: string }).code;
    if (code === 'lan_too_many_failures') closedAs = { code, message: `This offer stopped after ${maxFailures} failed attempt${maxFailures === 1 ? '' : 's'} to pair. Ask for a new offer, with a fresh connection string${pairingCode ? ' and code' : ''}.` };
    else if (code === 'lan_offer_timeout') closedAs = { code, message: 'This offer stopped: no device paired in time. Ask for a new one.' };
    for (const channel of pending) channel.refuse(closedAs.code, closedAs.message);
    void stopListening().finally(() => settle?.reject(error));
  };
  /** Refuses `channel`: the offer is paired already, or closed (saying why). */
  const refuseLate = (channel: FramedChannel) => (state === 'paired'
    ? channel.refuse('lan_already_paired', 'This device has already paired with another device.')
    : channel.refuse(closedAs.code, closedAs.message));
  const countFailure = (address: string, reason: string) => {
    // A handshake under way when the offer stopped may end in a failure after: it is no attempt
    // the offer still had room for ("failed attempt 7 of 5"), and what it was told says why.
    if (state !== 'listening') {
      log(`Refused ${address}: ${reason} (after the offer stopped; not counted).`);
      return;
    }
    failures++;
    log(`Refused ${address}: ${reason} (failed attempt ${failures} of ${maxFailures}).`);
    if (failures >= maxFailures) {
      end(new ListenerClosedError(`Stopped after ${failures} failed attempts to pair (a mistyped or old connection string or code, or someone else on the network guessing). Start a new offer, with a fresh secret${pairingCode ? ' and code' : ''}, when the other device is ready.`, 'lan_too_many_failures'));
    }
  };

  server.on('tlsClientError', (error, socket) => {
    // The sniffer in front closes the connection (Node leaves it open).
    log(handshakeFailure(peerAddress(socket), error));
  });
  server.on('secureConnection', (socket) => {
    const address = peerAddress(socket);
    const channel = new FramedChannel(socket, 'listener');
    if (state !== 'listening') return refuseLate(channel);
    if (pending.size >= MAX_PENDING) {
      // Silent connections cost an attacker nothing and are never counted: without this, eight of
      // them, reopened as each times out, would keep the device holding the string out for good.
      // Refused as busy (`lan_offer_busy`), not closed: the offer goes on, and the places free up
      // within seconds, so the device turned away is told to try again, not that the offer ended.
      const oldest = silent.entries().next();
      if (oldest.done) return channel.refuse('lan_offer_busy', BUSY);
      const [idle, from] = oldest.value;
      release(idle);
      log(`Too many devices are trying at once: closed the oldest silent connection, from ${from}, for a new one.`);
      idle.refuse('lan_offer_busy', BUSY);
    }
    pending.add(channel);
    silent.set(channel, address);
    // A connection that never sends its first message made no guess: a code joiner dials every
    // address a device announces, proves the code over one and drops or leaves waiting the others
    // (`code-dial.ts`), which on a slow machine can outlast the handshake timeout. The failure limit
    // counts guesses, so neither leaving silently nor timing out silently counts; the timeout
    // alone frees the slot.
    let spoke = false;
    let closedSilent = false;
    // Any bytes, even a malformed frame, are an attempt; only a connection that sent none is not.
    socket.once('data', () => { spoke = true; silent.delete(channel); });
    socket.once('close', () => { silent.delete(channel); if (!spoke) closedSilent = true; });
    void (async () => {
      let proven = false;
      // Set when the joiner proved the code: its device key pin, which its identity must repeat.
      let codeJoinerPin: Buffer | undefined;
      try {
        const first = await channel.receive(handshakeTimeoutMs);
        spoke = true;
        if (first.kind !== 'json') throw new ProtocolError('Expected "hello", got payload bytes.');
        const hello = first.message;
        // Before any proof: shown by its code alone, never its words (`remoteError`).
        if (hello.t === 'error') throw remoteError(hello, false);
        if (hello.t === 'code-hello' && pairingCode) {
          const outcome = await proveCodeAsOffer(channel, socket, pairingCode, session.spkiSha256, handshakeTimeoutMs);
          if (!outcome.ok) {
            release(channel);
            channel.refuse(outcome.error.code, outcome.error.message);
            countFailure(address, outcome.error.code === 'lan_wrong_code' ? 'wrong pairing code' : 'the code was proven over another TLS connection (a relay)');
            return;
          }
          codeJoinerPin = outcome.joinSpki;
        } else {
          if (hello.t === 'code-hello') throw new ProtocolError('A pairing code was tried, but this offer takes none (it was started without --code).');
          if (hello.t !== 'hello') throw new ProtocolError(`Expected "hello", got "${terminalText(hello.t, 40)}".`);
          const joinNonce = receivedBytes(hello.nonce);
          if (joinNonce.length !== NONCE_BYTES) throw new ProtocolError('The hello carried no valid nonce.');
          const offerNonce = newNonce();
          const binding = channelBinding(socket);
          channel.send({
            t: 'challenge',
            nonce: offerNonce.toString('base64url'),
            proof: secretProof(secret, 'offer', offerNonce, joinNonce, binding).toString('base64url'),
          });
          const answer = await channel.expect('proof', handshakeTimeoutMs);
          const expected = secretProof(secret, 'join', offerNonce, joinNonce, binding);
          if (!proofMatches(expected, receivedBytes(answer.proof))) {
            release(channel);
            channel.refuse('lan_wrong_secret', 'Wrong pairing secret.');
            countFailure(address, 'wrong secret');
            return;
          }
        }
        // The secret or code is proven: what it says from now on may be shown in its own words.
        channel.authenticate();
        release(channel);
        if (state !== 'listening') return refuseLate(channel);
        // First authenticated peer wins: stop listening and turn away everyone still trying.
        state = 'paired';
        proven = true;
        for (const other of pending) other.refuse('lan_already_paired', 'This device has already paired with another device.');
        pending.clear();
        silent.clear();
        void stopListening();
        channel.send({ t: 'welcome' });
        log(`Paired with a device at ${address}: the ${codeJoinerPin ? 'pairing code' : 'secret'} was proven both ways.`);
        const exchanged = await exchange(channel, device, selfAddresses, {
          payloadPath: options.payloadPath,
          outDir: options.outDir ?? process.cwd(),
          maxPayloadBytes: options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
          timeoutMs: Math.max(handshakeTimeoutMs, 30_000),
          onProgress: options.onProgress,
          confirmTrust: true,
          proveKey: { role: 'offer', binding: channelBinding(socket) },
          // A code joiner's TLS key was bound into the PAKE: the key it asks us to trust must be
          // that one, checked before a payload goes either way (`exchange`).
          checkPeer: (peer) => {
            if (codeJoinerPin && peer.keySha256 !== codeJoinerPin.toString('base64url')) {
              throw new ProtocolError('The other device named another key than the one it proved the code with.');
            }
          },
        });
        // Kept only if the joiner saved us too (`trust-commit.ts`): never a one-sided trust.
        const trusted = await commitTrust(channel, {
          store: peers,
          peer: { deviceId: exchanged.peer.deviceId, name: exchanged.peer.name, keySha256: exchanged.peer.keySha256, addresses: [address, ...exchanged.peer.addresses] },
          self: device,
          peerConfirms: exchanged.peerConfirmsTrust,
          timeoutMs: Math.max(handshakeTimeoutMs, 30_000),
        });
        channel.close();
        settle?.resolve({ ...exchanged, trusted, address });
      } catch (error) {
        release(channel);
        // The other device is told what failed here (a full disk, a timeout), not "protocol error".
        channel.endWith(error);
        if (proven) {
          settle?.reject(error as Error);
          return;
        }
        if (!spoke) log(`A device at ${address} connected and ${closedSilent ? 'left' : 'stayed silent'} without trying (not counted).`);
        else if (state === 'listening') countFailure(address, failureReason(error as Error));
      }
    })();
  });

  let ownIp: OwnIpReport | undefined;
  const listenerState = () => ({
    state,
    port,
    addresses: selfAddresses,
    deviceId: device.deviceId,
    name: device.name,
    keySha256: session.spkiSha256.toString('base64url'),
    failures,
    maxFailures,
    pendingHandshakes: pending.size,
    discovery: announcer ? { sent: announcer.sent(), errors: announcer.errors() } : 'off',
    ...(ownIp ? { ownIp } : {}),
  });
  // One doctor run at a time: callers asking meanwhile share it, so a burst of requests cannot
  // pile up listeners and multicast sockets.
  let doctorRun: Promise<DoctorReport> | undefined;
  const diagnosticsTimeoutMs = options.diagnosticsTimeoutMs ?? DIAGNOSTICS_TIMEOUT_MS;
  // The port also answers `GET /diagnostics` to loopback callers (never the secret): the listener's
  // state and the doctor's checks. The doctor is handed this listener, so it probes this port (the
  // sniffer answers those probes itself, with no further diagnostics: no recursion) instead of
  // opening a second one, and its run is bounded by `diagnosticsTimeoutMs`.
  const front = sniffingServer(server, async ({ doctor }) => {
    if (!doctor) return listenerState();
    doctorRun ??= runDoctor({
      listener: { port },
      discovery: options.discovery ?? {},
      ...(options.server ? { server: options.server } : {}),
      deadlineMs: diagnosticsTimeoutMs,
      checkTimeoutMs: Math.min(4000, diagnosticsTimeoutMs),
      multicastWaitMs: 1000,
    }).finally(() => { doctorRun = undefined; });
    const report = await doctorRun;
    // The state after the checks, so it is no older than they are.
    return { ...listenerState(), doctor: report };
  }, { log });
  const port = await listenTls(front, options.port ?? 0, options.host);
  let connectionString: string;
  let describe: ReturnType<typeof describeConnection>;
  try {
    let addresses = options.addresses;
    if (!addresses) {
      // Confirmed on this very port, so a firewall rule against it shows here, not at the joiner.
      ownIp = await discoverOwnAddresses({ log, listenerPort: port });
      addresses = ownIp.addresses;
    }
    const info: ConnectionInfo = { addresses, port, keySha256: session.spkiSha256, secret, deviceId: device.deviceId, name: device.name };
    describe = describeConnection(info);
    selfAddresses = addresses;
    connectionString = encodeConnectionString(info);

    if (options.discovery !== false) {
      try {
        announcer = await startAnnouncer({ ...(options.discovery ?? {}), announcement: { deviceId: device.deviceId, port }, secret });
      } catch (error) {
        log(`Multicast announcements are off: ${(error as Error).message}`);
      }
      try {
        // Hear joiners that look for us: proof that multicast works when their TCP does not.
        const heard = new Set<string>();
        joinerListener = await listenForAnnouncements({
          ...(options.discovery ?? {}),
          secret,
          onAnnouncement: (a) => {
            if (a.role !== 'join' || heard.has(a.address) || state !== 'listening') return;
            heard.add(a.address);
            log(`A device holding this connection string is looking for us from ${a.address} (multicast reaches us; if it cannot connect, check that TCP port ${port} is open).`);
          },
        });
      } catch (error) {
        log(`Not listening for joiners' announcements: ${(error as Error).message}`);
      }
      if (options.announcePlain || pairingCode) {
        try {
          plainAnnouncer = await startAnnouncer({ ...(options.discovery ?? {}), announcement: { deviceId: device.deviceId, port, name: device.name, ...(pairingCode ? { code: true } : {}) } });
        } catch (error) {
          log(`Plain announcements are off: ${(error as Error).message}`);
        }
      }
    }
  } catch (error) {
    // Nothing may keep listening when the offer could not be made.
    state = 'closed';
    await stopListening();
    throw error;
  }
  timeout.timer = setTimeout(() => end(new ListenerClosedError(`No device paired within ${Math.round(timeoutMs / 1000)} s, so the offer stopped (its string${pairingCode ? ' and code no longer work' : ' no longer works'}). Start a new one when the other device is ready (--timeout to wait longer).`, 'lan_offer_timeout')), timeoutMs);
  timeout.timer.unref();

  return {
    connectionString,
    description: describe,
    port,
    ...(ownIp ? { ownIp } : {}),
    ...(pairingCode ? { code: formatPairingCode(pairingCode) } : {}),
    failures: () => failures,
    result,
    close: async () => {
      end(new ListenerClosedError('The offer was closed.'));
      await stopListening();
    },
  };
}
