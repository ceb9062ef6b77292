import tls from 'node:tls';
import { peerPin } from './code-pake.js';
import type { DeviceIdentity } from './device-identity.js';
import { FramedChannel } from './frames.js';
import { PeerUnreachableError } from './lan-errors.js';
import { dialTls, label } from './pinned-dial.js';

/**
 * Reaching a code offer at every address it announces (`lan join --code`), as the QR path's
 * `discovery-dial.ts` does: a device on several networks (or with a stale or filtered address)
 * announces from each, and an impostor may announce the same device first. So every endpoint heard
 * is dialled (TLS without a pin, at once), and the code is proven over the connections one at a
 * time, in the order they connected, until one completes the PAKE. One at a time because each
 * proof is a counted attempt at the offer and costs a fraction of a second of CPU on each side.
 *
 * After a wrong code, other endpoints presenting the *same* TLS key are not tried: they are the same
 * listener, which has already said the code is wrong, and trying again would only spend more of the
 * offer's failure limit on a typo. An impostor cannot present the offer's key (it lacks the private
 * key), so it cannot make the joiner skip the real offer this way.
 */

/** Where an offer taking a code was heard. */
export interface CodeEndpoint {
  address: string;
  port: number;
}

/**
 * Most endpoints dialled in one join, and most from one source address. Anyone on the network can
 * announce the offer's device (its id and name are public) from as many ports as they like: with
 * one cap on the total alone, eight made-up ports heard first left no room for the real offer. A
 * device announces one port per address, so two per address leave room for it against an
 * announcer on fewer than eight addresses; and an endpoint that refuses the connection costs nothing.
 */
export const MAX_CODE_ENDPOINTS = 16;
export const MAX_ENDPOINTS_PER_ADDRESS = 2;

/** Most proofs of the code in one join: each endpoint that answers as an impostor costs the user one guess there. */
export const MAX_CODE_PROOFS = 8;

/** Whether `endpoint` still fits among `known` (the caps above). */
export function endpointFits(known: readonly CodeEndpoint[], endpoint: CodeEndpoint): boolean {
  if (known.length >= MAX_CODE_ENDPOINTS) return false;
  return known.filter((e) => e.address === endpoint.address).length < MAX_ENDPOINTS_PER_ADDRESS;
}

/** Options of `proveAtAnyEndpoint`. */
export interface CodeDialOptions {
  /** Endpoints heard so far, in the order heard. */
  endpoints: CodeEndpoint[];
  /** Starts hearing further endpoints (more announcements); stopped when this settles. */
  more?: (add: (endpoint: CodeEndpoint) => void) => Promise<{ stop(): Promise<void> }>;
  /** This device: its certificate is the TLS client certificate the PAKE binds. */
  device: DeviceIdentity;
  dialTimeoutMs: number;
  /** When every endpoint known has failed, how long to wait for another before giving up. */
  waitMoreMs: number;
  /**
   * The endpoints were given by the person (`--address`, `--port`), not heard announced: the final
   * error names them so, and does not advise dialling them directly (that is what was done).
   */
  given?: boolean;
  /** Proves the code over one connection (PAKE and welcome); throws why not. */
  prove: (channel: FramedChannel, socket: tls.TLSSocket) => Promise<void>;
  log: (line: string) => void;
}

/** A connection over which the code was proven. */
export interface ProvenConnection {
  channel: FramedChannel;
  socket: tls.TLSSocket;
  endpoint: CodeEndpoint;
}

/** TLS to `address` without a pin (the PAKE authenticates), presenting this device's certificate. */
export function dialForCode(address: string, port: number, device: DeviceIdentity, timeoutMs: number): Promise<tls.TLSSocket> {
  return dialTls(address, port, timeoutMs, device);
}

/** A given address and port where nothing listens: a wrong port, or an offer that has ended. */
const GIVEN_CLOSED = 'Nothing listens on that port: check that it is the port the offer shows, and that the offer still runs (it stops once it has paired, at its --timeout, or with Ctrl-C; then start a new one there and type its new code).';
/** A given address and port that did not answer at all, or not with TLS. */
const GIVEN_SILENT = 'Check that they are the address and port the offer shows, and that both devices are on the same network ("pairgate doctor" on each device checks that it can reach its own addresses).';
/** Announced endpoints where nothing listens any more. */
const HEARD_CLOSED = 'Nothing listens there any more: the offer has ended (it stops once it has paired, at its --timeout, or with Ctrl-C). Start a new one there and type its new code.';

/**
 * The error that says most: a wrong code, then a relay, then anything else, then unreachable.
 * `given`: the endpoints were the person's `--address` and `--port`.
 */
function bestError(errors: Error[], given: boolean): Error {
  const rank = (e: Error) => {
    const code = (e as { code?: string }).code;
    if (code === 'lan_wrong_code') return 0;
    if (code === 'lan_channel_binding_mismatch') return 1;
    if (code !== 'lan_peer_unreachable') return 2;
    return 3;
  };
  const sorted = [...errors].sort((a, b) => rank(a) - rank(b));
  if (sorted.length === 0) return new PeerUnreachableError('No address of the device was heard.');
  if (rank(sorted[0]!) < 3) return sorted[0]!;
  const reasons = errors.map((e) => e.message).join('; ');
  const closed = errors.every((e) => e instanceof PeerUnreachableError && e.portClosed);
  // Given: the person dialled that address and port already, so "dial them with --address and
  // --port" (and "announced") would send them round in a circle.
  if (given) return new PeerUnreachableError(`Cannot reach the offer at the address and port given: ${reasons}. ${closed ? GIVEN_CLOSED : GIVEN_SILENT}`, closed);
  return new PeerUnreachableError(`No announced address of the device answered: ${reasons}. ${closed ? HEARD_CLOSED : 'If the offer shows its address and port, dial them with --address and --port.'}`, closed);
}

/**
 * Dials every endpoint (those given and those `more` adds, up to MAX_CODE_ENDPOINTS) and proves the
 * code over the connections one at a time; resolves with the first over which it was proven. Throws
 * the most telling error (wrong code, relay, ..., unreachable) once every endpoint failed and no new
 * one was heard within `waitMoreMs`.
 */
export async function proveAtAnyEndpoint(options: CodeDialOptions): Promise<ProvenConnection> {
  const tried = new Set<string>();
  const dialled: CodeEndpoint[] = [];
  let proofs = 0;
  const connected: { socket: tls.TLSSocket; endpoint: CodeEndpoint }[] = [];
  const wrongCodePins = new Set<string>();
  const errors: Error[] = [];
  let dialling = 0;
  let proving = false;
  let settled = false;
  let grace: NodeJS.Timeout | undefined;
  let settle: { resolve: (c: ProvenConnection) => void; reject: (e: Error) => void } | undefined;
  const outcome = new Promise<ProvenConnection>((resolve, reject) => { settle = { resolve, reject }; });

  const finish = (result: ProvenConnection | Error) => {
    if (settled) return;
    settled = true;
    clearTimeout(grace);
    for (const waiting of connected.splice(0)) waiting.socket.destroy();
    if (result instanceof Error) settle?.reject(result);
    else settle?.resolve(result);
  };
  // Nothing left to try: wait a moment for another announced endpoint, then give up.
  const idle = () => {
    if (settled || dialling > 0 || proving || connected.length > 0 || grace) return;
    grace = setTimeout(() => finish(bestError(errors, options.given === true)), options.waitMoreMs);
  };
  // Each endpoint's failure as it happens, for the person to follow several; not with an endpoint
  // given, whose failure is the final error word for word. A wrong code, which is the final error
  // whenever one happened (`bestError`), is said briefly: its full advice came twice.
  const logFailure = (where: string | undefined, error: Error) => {
    if (options.given) return;
    const wrongCode = (error as { code?: string }).code === 'lan_wrong_code';
    options.log(wrongCode ? `${where}: refused the code (lan_wrong_code).` : where ? `${where}: ${error.message}` : error.message);
  };
  const next = () => {
    if (settled || proving) return;
    const item = connected.shift();
    if (!item) return idle();
    const where = label(item.endpoint.address, item.endpoint.port);
    let pin: string | undefined;
    try {
      pin = peerPin(item.socket)?.toString('base64url');
    } catch (error) {
      // An endpoint whose certificate cannot be read is no device to prove the code to; thrown
      // from here (a socket's event), it ended the process.
      options.log(`${where} not tried: ${(error as Error).message}`);
      item.socket.destroy();
      return next();
    }
    if (pin && wrongCodePins.has(pin)) {
      options.log(`${where} is the same listener that refused the code; not trying it again.`);
      item.socket.destroy();
      return next();
    }
    if (proofs >= MAX_CODE_PROOFS) {
      options.log(`${where} not tried: ${MAX_CODE_PROOFS} endpoints answering as this device refused the code already.`);
      item.socket.destroy();
      return next();
    }
    proofs++;
    proving = true;
    const channel = new FramedChannel(item.socket);
    options.prove(channel, item.socket).then(() => {
      proving = false;
      finish({ channel, socket: item.socket, endpoint: item.endpoint });
    }, (error: Error) => {
      proving = false;
      errors.push(error);
      if (pin && (error as { code?: string }).code === 'lan_wrong_code') wrongCodePins.add(pin);
      item.socket.destroy();
      if (!settled) logFailure(where, error);
      next();
    });
  };
  const add = (endpoint: CodeEndpoint) => {
    const where = label(endpoint.address, endpoint.port);
    if (settled || tried.has(where) || !endpointFits(dialled, endpoint)) return;
    tried.add(where);
    dialled.push(endpoint);
    clearTimeout(grace);
    grace = undefined;
    dialling++;
    if (tried.size > 1) options.log(`Also dialling ${where}...`);
    dialForCode(endpoint.address, endpoint.port, options.device, options.dialTimeoutMs).then((socket) => {
      dialling--;
      if (settled) {
        socket.destroy();
        return;
      }
      connected.push({ socket, endpoint });
      next();
    }, (error: Error) => {
      dialling--;
      errors.push(error);
      if (!settled) logFailure(undefined, error);
      idle();
    });
  };

  const watcher = options.more ? await options.more(add) : undefined;
  for (const endpoint of options.endpoints) add(endpoint);
  idle();
  try {
    return await outcome;
  } finally {
    await watcher?.stop();
  }
}
