import { watchPeer, MAX_ANNOUNCEMENT_SKEW_MS, type DiscoveryOptions, type RefusedCounts } from './discovery.js';
import { PeerUnreachableError, PinMismatchError } from './lan-errors.js';
import { dialPinned, label, type PinnedConnection } from './pinned-dial.js';

/**
 * Finding the offering device by multicast discovery when the string's addresses failed. Every
 * authenticated announcement of the device is a candidate, not an answer: anyone holding the
 * string (or an older offer's replayed packet) can make one that points elsewhere, and only the
 * pinned key tells the device apart. So the joiner dials every announcer it hears, several at once,
 * and keeps listening after a wrong key or a failed connection until one presents the pinned key
 * or the time is up.
 */

/**
 * What a joiner is told when every address of the string answered "nothing listens on this port"
 * and discovery heard nothing either: the device is there, its offer is not (the question "same
 * network?" would send the person after the wrong problem).
 */
export const OFFER_ENDED = 'The device is there, but nothing listens on that port any more: its offer has ended (an offer stops once it has paired, at its --timeout, or with Ctrl-C). Start a new offer there and use its new string.';

/** Most dials in flight at once; more candidates wait for the next announcement round. */
const MAX_DIALS = 8;
/** An announcer that could not be reached is dialled again when heard after this long. */
const REDIAL_AFTER_MS = 1000;

/** What a discovery dial needs. */
export interface DiscoveryDialOptions {
  discovery: DiscoveryOptions;
  secret: Buffer;
  deviceId: string;
  /** The pinned key (SPKI SHA-256) of the offering device. */
  pin: Buffer;
  /** This device's id, announced as a joiner meanwhile. */
  self: string;
  timeoutMs: number;
  dialTimeoutMs: number;
  /** The device's name, for messages. */
  name: string;
  /**
   * Why the string's addresses failed, if they did: a wrong key there is the final error, and
   * "nothing listens" there says the offer has ended. Its text is not repeated (it was logged).
   */
  earlier?: Error;
  /** The string's addresses dialled before (`address:port`), named once in the final message. */
  tried?: string[];
  log: (line: string) => void;
}

/** `at`: when (monotonic ms) the dial failed. On the wall clock, one stepped back kept an unreachable announcer from being dialled again until the whole wait ended. */
type Attempt = { state: 'dialling' } | { state: 'wrong_key' } | { state: 'unreachable'; at: number };

/** Why nothing paired: the pin refused someone, or nothing reached, with what discovery heard. */
function failure(options: DiscoveryDialOptions, errors: Error[], candidates: number, refused: RefusedCounts, attempts: ReadonlyMap<string, Attempt>): Error {
  const mismatch = [options.earlier, ...errors].find((e) => e instanceof PinMismatchError);
  if (mismatch) return mismatch;
  const notes: string[] = [];
  if (refused.stale > 0) {
    notes.push(`${refused.stale} of its announcements were refused as sent more than ${MAX_ANNOUNCEMENT_SKEW_MS / 1000} s away from this device's clock: check that both clocks are right.`);
  }
  if (refused.wrongSource > 0) notes.push(`${refused.wrongSource} came from another address than the one they were signed for (copies sent by another machine).`);
  const where = options.tried?.length ? ` at ${options.tried.join(', ')}` : '';
  const also = where ? ' either' : '';
  if (candidates === 0) {
    const closed = options.earlier instanceof PeerUnreachableError && options.earlier.portClosed;
    return new PeerUnreachableError(`Cannot reach "${options.name}"${where}. Multicast discovery heard nothing from it${also}. ${closed ? OFFER_ENDED : 'Are both devices on the same network?'}${notes.length ? ` ${notes.join(' ')}` : ''}`, closed);
  }
  // Why each announced address failed was logged as it failed; the end names them once.
  const heard = [...attempts.keys()];
  return new PeerUnreachableError(`Cannot reach "${options.name}"${where}. Discovery heard it at ${heard.join(', ')}, but ${heard.length === 1 ? 'that address did not answer' : 'none of those addresses answered'}${also}.`);
}

/**
 * Listens for the device's authenticated announcements for up to `timeoutMs` and dials each
 * announcer heard, pinned by its key; resolves with the first pinned connection. Throws
 * PinMismatchError when only other keys answered, else PeerUnreachableError.
 */
export async function dialByDiscovery(options: DiscoveryDialOptions): Promise<PinnedConnection> {
  const attempts = new Map<string, Attempt>();
  const errors: Error[] = [];
  let inFlight = 0;
  let candidates = 0;
  let settled = false;
  let timedOut = false;
  let settle: { resolve: (c: PinnedConnection) => void; reject: (e: Error) => void } | undefined;
  const outcome = new Promise<PinnedConnection>((resolve, reject) => { settle = { resolve, reject }; });
  // Filled in below; the callbacks run only after it is.
  let refusedSoFar: () => RefusedCounts = () => ({ stale: 0, wrongSource: 0 });

  const giveUpIfDone = () => {
    if (settled || !timedOut || inFlight > 0) return;
    settled = true;
    settle?.reject(failure(options, errors, candidates, refusedSoFar(), attempts));
  };

  const watch = await watchPeer({
    ...options.discovery,
    secret: options.secret,
    deviceId: options.deviceId,
    self: options.self,
    onOffer: (announcement) => {
      if (settled || timedOut) return;
      const where = label(announcement.address, announcement.port);
      const previous = attempts.get(where);
      if (previous && (previous.state !== 'unreachable' || performance.now() - previous.at < REDIAL_AFTER_MS)) return;
      if (inFlight >= MAX_DIALS) return;
      candidates++;
      inFlight++;
      attempts.set(where, { state: 'dialling' });
      options.log(`Discovery heard it at ${where}; dialling...`);
      dialPinned(announcement.address, announcement.port, options.pin, options.dialTimeoutMs).then((socket) => {
        inFlight--;
        if (settled) {
          socket.destroy();
          return;
        }
        settled = true;
        settle?.resolve({ socket, address: announcement.address });
      }, (error: Error) => {
        inFlight--;
        errors.push(error);
        const wrongKey = error instanceof PinMismatchError;
        attempts.set(where, wrongKey ? { state: 'wrong_key' } : { state: 'unreachable', at: performance.now() });
        if (!settled) options.log(`${wrongKey ? `${where} answered with another key than the string pins` : error.message}; still listening for "${options.name}".`);
        giveUpIfDone();
      });
    },
  });
  refusedSoFar = () => watch.refused();
  const timer = setTimeout(() => {
    timedOut = true;
    giveUpIfDone();
  }, options.timeoutMs);
  try {
    return await outcome;
  } finally {
    clearTimeout(timer);
    await watch.stop();
  }
}
