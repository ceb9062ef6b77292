import type { Duplex } from 'node:stream';
import { terminalText } from './terminal-text.js';
import {
  ChannelBindingError, ConnectionLostError, DEVICE_ID_MISMATCH_REASON, DeviceIdMismatchError, KeyNotProvenError, ListenerClosedError, OfferBusyError, PeerTimeoutError,
  PinMismatchError, PROTOCOL_REFUSED_STEP, ProtocolError, WrongCodeError, WrongSecretError,
} from './lan-errors.js';
import { interruptedNotice, noticeForPeer, PEER_FAILURE_CODES, peerFailed, type PeerNotice } from './peer-failure.js';

/**
 * Framing of the lan protocol over one TLS socket: 1 type byte, a 4-byte big-endian length, the
 * body. Type 1 is a JSON control message (at most 16 KiB), type 2 a chunk of payload bytes (at
 * most 256 KiB). A peer that sends anything larger or unknown is cut off: the reader never buffers
 * more than one frame.
 */

const JSON_FRAME = 1;
const DATA_FRAME = 2;
const HEADER = 5;
/** Largest JSON control message. */
export const MAX_JSON_FRAME = 16 * 1024;
/** Largest data chunk. */
export const MAX_DATA_FRAME = 256 * 1024;

/** Why a read or write ended when the other side closed the connection without a word. */
const CLOSED = 'The other device closed the connection before it finished (was pairgate stopped there?). Try again.';

/**
 * The same, when not one frame had come from it: what a program that is not pairgate does once
 * the TLS handshake is done (another service at that address and port), and an incompatible
 * pairgate may; "try again" alone would only fail the same way.
 */
const CLOSED_UNHEARD = 'The other end closed the connection without a word of pairgate\'s lan protocol: was pairgate stopped there, or is it not a pairgate lan endpoint (check the address and port) or an incompatible version (update pairgate on both devices)? Try again.';

/**
 * The same on the listening side (an offer, `lan connect --listen`), for its log: the device that
 * connected chose the address and port, so advice to check them is not this side's to follow.
 */
const LEFT_MID_MESSAGE = 'A device connected, sent part of a message and left.';
const LEFT_UNHEARD = 'A device connected and left without a word.';

/** Which end of the connection this side is: it dialled, or it listens (the messages differ). */
export type ChannelSide = 'dialer' | 'listener';

/** A control message: `t` names its type. */
export interface ControlMessage {
  t: string;
  [key: string]: unknown;
}

/** One received frame. */
export type Frame = { kind: 'json'; message: ControlMessage } | { kind: 'data'; data: Buffer };

// Remote text shown to a person: nothing that steers the terminal, bounded length.
const clean = (text: unknown): string => terminalText(text, 300);

/** A trusted peer's listener that does not trust this device (any more). */
const NOT_TRUSTED = 'The other device does not trust this one: it never paired with it, or removed it since ("pairgate peers remove"). '
  + 'Pair the two again ("pairgate lan offer" on one, "pairgate lan join" on the other), then connect.';

/** An offer that paired with another device first (its own words, "This device has already paired", read as this one). */
const ALREADY_PAIRED = 'The other device has just paired with another device that proved the secret first, and an offer pairs with one device only. '
  + 'Start a new offer there to pair this one too.';

/**
 * An offer that refused the code this side proved (its own words, "Wrong pairing code.", said
 * nothing of what to do): in this side's words, with what to type and what a retry costs.
 */
export const WRONG_CODE = 'The other device refused the pairing code: it is not the one it shows (mistyped, or from an earlier offer: each offer shows a fresh code). '
  + 'Type the code it shows now; each wrong code counts as a failed attempt there, and the offer stops after --max-failures (default 5).';

/**
 * A device that refused this one as another device than it was told to pair with (its connection
 * string or code's announcement named another device id): both run pairgate and spoke the protocol,
 * so not the update advice of other protocol refusals, but what to do about the id.
 */
export const OTHER_DEVICE_NAMED = 'The other device refused to pair with this one: the connection string or code it was given names another device '
  + '(a device id mistyped, or copied from another offer). Neither device saved the other. If this is the device meant, start a new offer here '
  + 'and, on the other device, copy its connection string again whole (or scan its QR code, or join its code with the --device id `pairgate lan nearby` lists for it).';

/** Errors made of the other device's word: this side does not answer them with its own. */
const fromPeer = new WeakSet<Error>();

/**
 * The error a remote `{t: 'error'}` message stands for: a refusal of what this side sent (its
 * secret, key, code; a listener that closed; a malformed message), or else the other device
 * failing on its side (its disk full, its timeout, Ctrl-C there: `lan_peer_failed`, `peer-failure.ts`).
 *
 * `authenticated` false: the other end has not proven the secret or code yet (nor its key), so it
 * may be anyone on the network, and its free words are never shown (they would be on the joiner's
 * last line and in the offer's log, as if pairgate said them): only that it refused, with its
 * code, in this side's words. A code this pairgate does not know is a protocol error there, never
 * passed on. The default is for what is read once the channel is authenticated (the payloads, the
 * trust commit); `FramedChannel` passes its own state.
 */
export function remoteError(message: ControlMessage, authenticated = true): Error {
  const error = authenticated
    ? refusal(message.code, `The other device refused: ${clean(message.message)}`, message.reason) ?? peerFailed(message.code, message.message)
    : unprovenRefusal(message.code);
  fromPeer.add(error);
  return error;
}

/**
 * What an end that has not proven the secret or code refused with, by its code alone: words of
 * this side's own where they say what to do, else the code; the other device's failures
 * (`peer-failure.ts`) without its sentence.
 */
function unprovenRefusal(code: unknown): Error {
  const known = typeof code === 'string' && /^lan_[a-z0-9_]{1,40}$/.test(code) ? code : undefined;
  const text = `The other end refused (${known ?? 'unknown'}) before it proved the secret or code, so its own words are not shown.`;
  const refused = known === undefined ? undefined : refusal(known, UNPROVEN_WORDS[known] ?? text);
  if (refused) return refused;
  if (known !== undefined && PEER_FAILURE_CODES.has(known)) return peerFailed(known, undefined, false);
  return new ProtocolError(`The other end refused with an error code this pairgate does not know${known ? ` (${known})` : ''}, before it proved the secret or code.`);
}

/** This side's words for a refusal before the other end proved the secret or code, where its own said what to do. */
const UNPROVEN_WORDS: Record<string, string> = {
  lan_too_many_failures: 'The other device\'s offer stopped after too many failed attempts to pair (lan_too_many_failures). Ask for a new offer there, with a fresh connection string or code.',
  lan_offer_timeout: 'The other device\'s offer stopped: no device paired in time (lan_offer_timeout). Ask for a new offer there.',
  lan_listener_closed: 'The other device\'s pairing listener has closed (lan_listener_closed). Ask for a new offer there.',
};

/**
 * The refusal `code` stands for, its message `text` where it is not said in this side's own words;
 * undefined for any other code. `reason` tells refusals under one code apart, once the other end is
 * authenticated (before, nothing it says is taken but its code).
 */
function refusal(code: unknown, text: string, reason?: unknown): Error | undefined {
  switch (code) {
    case 'lan_wrong_secret': return new WrongSecretError(text);
    case 'lan_key_mismatch': return new PinMismatchError(text);
    case 'lan_key_not_proven': return new KeyNotProvenError(text);
    case 'lan_wrong_code': return new WrongCodeError(WRONG_CODE);
    case 'lan_channel_binding_mismatch': return new ChannelBindingError(text);
    case 'lan_already_paired': return new ListenerClosedError(ALREADY_PAIRED, 'lan_already_paired');
    // In this side's words: its own ("Too many devices are trying ...") said nothing of waiting.
    case 'lan_offer_busy': return new OfferBusyError();
    case 'lan_too_many_failures':
    case 'lan_offer_timeout':
    case 'lan_listener_closed': return new ListenerClosedError(text, code);
    // In this side's words: the listener's own ("This device does not trust your key") read as
    // if this device were the one that did not trust.
    case 'lan_not_trusted': return new ListenerClosedError(NOT_TRUSTED, 'lan_not_trusted');
    // It runs pairgate (it answered in its words), and could not read this side's: versions, most
    // likely; unless it says it refused this device for its id, which no update changes.
    case 'lan_protocol_error': return reason === DEVICE_ID_MISMATCH_REASON ? new DeviceIdMismatchError(OTHER_DEVICE_NAMED) : new ProtocolError(text, PROTOCOL_REFUSED_STEP);
    default: return undefined;
  }
}

/** Failures of the trust commit, which has told the other side already (`trust-commit.ts`). */
const SETTLED = new Set(['lan_trust_not_saved', 'lan_peer_not_saved', 'lan_trust_unconfirmed', 'lan_peer_id_conflict']);

/** Channels with a connection still open, told when the command is stopped (`tellPeersStopped`). */
const live = new Set<FramedChannel>();

/**
 * Most refused connections left open at once in this process, each for at most `REFUSED_LINGER_MS`
 * so its refusal can be read (`refuse`). A refusal costs the other end no more than a TLS handshake
 * with any certificate (`lan connect --listen` takes any, then looks at the key), so without a
 * bound one machine could keep open as many as it completes handshakes in that time; past it the
 * oldest is closed at once.
 */
export const MAX_REFUSED_OPEN = 64;
/** How long a refused connection stays open for its refusal to be read, unless the other end closes first. */
const REFUSED_LINGER_MS = 1000;
/** How long a closed connection (`close`) stays half-open for this side's last frame to be read, unless the other end closes first. */
const CLOSE_LINGER_MS = 1000;
/** The sockets of refused connections still open, oldest first (a Set keeps insertion order). */
const refusedOpen = new Set<Duplex>();

/**
 * Bytes of the other devices' frames that open channels hold unread: their queued data frames
 * and the part of a frame read so far. What a device that floods a connection makes this process
 * hold; for tests.
 */
export function heldFrameBytes(): number {
  let bytes = 0;
  for (const channel of live) bytes += channel.heldBytes();
  return bytes;
}

/**
 * Tells the device at the other end of every open channel that this command was stopped by
 * `signal`, so its person reads that (`lan_peer_failed`, "stopped (Ctrl-C)") rather than a lost
 * connection. The frame is handed to the socket at once, behind what is queued there already; the
 * promise settles when it has been written out (or the connection is gone), which the signal
 * handler waits for, within a bound, before the process ends: in the middle of sending a file the
 * frame sat behind the file's queued bytes, the process ended first, and the other device said
 * only that the connection was lost. Best effort.
 */
export function tellPeersStopped(signal: 'SIGINT' | 'SIGTERM'): Promise<void> {
  return Promise.all([...live].map((channel) => channel.stopFor(interruptedNotice(signal)))).then(() => undefined);
}

/** A framed, message-oriented view of a socket. */
export class FramedChannel {
  /** The bytes read and not yet taken as frames, joined into one buffer. */
  private buffer: Buffer = Buffer.alloc(0);
  /**
   * Chunks read since, not yet joined to `buffer` because `needed` bytes are not all there: a
   * frame's bytes are joined once, when it is whole. Joining each chunk as it came copied the
   * frame read so far again for every chunk, so a 256 KiB frame sent as one-byte TLS records
   * (a few megabytes from anyone on the network, before any secret) cost gigabytes of copying
   * and held the whole process for seconds.
   */
  private parts: Buffer[] = [];
  private partsBytes = 0;
  /** How many bytes `buffer` needs before it is worth reading again: a header, or the frame it opens. */
  private needed = HEADER;
  private readonly queue: Frame[] = [];
  private waiter: { resolve: (frame: Frame) => void; reject: (error: Error) => void } | undefined;
  private failure: Error | undefined;
  /** The other device's own error message, once one arrived: why the connection ends, whatever closes it. */
  private peerError: Error | undefined;
  /** Wakes a sender waiting for the socket to drain when that message arrives. */
  private stopSending: ((error: Error) => void) | undefined;
  /** This side said its last word (`refuse`, `tell`): it has nothing more to tell. */
  private told = false;
  /**
   * This side is done with the connection (`refuse`, `close`): what still arrives is dropped
   * unread, and nothing more is queued.
   */
  private finished = false;
  /** The command is being stopped (`stopFor`): no more payload bytes go out. */
  private stopped = false;
  /** A whole frame came from the other end: it speaks the protocol, at least so far. */
  private heard = false;
  /**
   * The other end proved the secret or code, or holds a pinned key (`authenticate`): until then
   * its error messages are shown by their code alone (`remoteError`).
   */
  private authenticated = false;
  /** Some bytes came from the other end, a whole frame or not. */
  private gotBytes = false;

  /** `side`: whether this side dialled or listens, for what it says when the other end leaves. */
  constructor(readonly socket: Duplex, private readonly side: ChannelSide = 'dialer') {
    live.add(this);
    socket.once('close', () => live.delete(this));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // Lost, not malformed: the other side stopped or the network cut, which the person cannot
    // fix by changing what they typed (exit code 1, where a ProtocolError exits 2).
    socket.on('error', (error) => this.fail(new ConnectionLostError(`The connection to the other device was lost (${error.message}): was pairgate stopped there, or the network cut? Try again.`)));
    socket.on('close', () => this.fail(new ConnectionLostError(this.closed())));
  }

  /**
   * The other end is now known: it proved the secret or code, or its TLS key is a pinned one
   * (`lan connect`). From now on its error messages are shown with its own words (`remoteError`).
   */
  authenticate(): void {
    this.authenticated = true;
  }

  /** Sends a control message; `onWritten` hears when it has left the socket (or failed to). */
  send(message: ControlMessage, onWritten?: () => void): void {
    const body = Buffer.from(JSON.stringify(message), 'utf8');
    if (body.length > MAX_JSON_FRAME) throw new ProtocolError('control message too large');
    this.socket.write(Buffer.concat([header(JSON_FRAME, body.length), body]), onWritten ? () => onWritten() : undefined);
  }

  /**
   * The command is being stopped (Ctrl-C): tells the other device so, and sends nothing more (a
   * file being sent stops here, so the notice is not followed by more of it). Once the notice is
   * written out the connection is half-closed, and what still arrives is read and dropped until the
   * other device closes its end: a process that exits with bytes unread (a file coming in) makes
   * its kernel answer with a reset, and the other device, busy writing, could fail on that reset
   * ("connection lost") before it had read the notice. Resolves when the connection has closed, or
   * at once when there is none; the signal handler bounds the wait.
   */
  stopFor(notice: PeerNotice): Promise<void> {
    this.stopped = true;
    if (this.told || this.socket.destroyed) return Promise.resolve();
    this.told = true;
    // onData drops everything from now on; a socket paused for a full queue must read on too.
    this.socket.resume();
    return new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      try {
        this.send({ t: 'error', code: notice.code, message: notice.message }, () => this.socket.end());
      } catch {
        resolve();
      }
    });
  }

  /** Sends a chunk of payload bytes, waiting while the socket's buffer is full. */
  async sendData(chunk: Buffer): Promise<void> {
    for (let offset = 0; offset < chunk.length; offset += MAX_DATA_FRAME) {
      // Lost already (the other side stopped while this one read its file): writing on would only
      // wait for a drain that a closed socket never emits. Or the other side said it failed (its
      // disk is full): the rest of the file would be sent for nothing.
      if (this.peerError) throw this.peerError;
      if (this.failure) throw this.failure;
      // Stopping: the process ends once the notice is out; sending on would only delay it.
      if (this.stopped) await new Promise<never>(() => undefined);
      const part = chunk.subarray(offset, offset + MAX_DATA_FRAME);
      const ok = this.socket.write(Buffer.concat([header(DATA_FRAME, part.length), part]));
      if (!ok) await this.drained();
    }
  }

  /**
   * Resolves when the socket's buffer has drained; rejects when the connection is lost, also when it
   * was lost before this was asked: a socket closed already emits neither 'drain' nor 'close' again,
   * and waiting for them left the sender pending with nothing else to run (the process then ended
   * with Node's code 13 for an unsettled await, instead of saying the connection was lost).
   */
  private drained(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.socket.destroyed) return Promise.reject(new ConnectionLostError(this.closed()));
    return new Promise<void>((resolve, reject) => {
      const done = (error?: Error) => {
        this.socket.off('close', onClose);
        this.socket.off('drain', onDrain);
        this.stopSending = undefined;
        if (error) reject(error);
        else resolve();
      };
      const onClose = () => done(this.failure ?? new ConnectionLostError(this.closed()));
      const onDrain = () => done();
      this.stopSending = done;
      this.socket.once('drain', onDrain);
      this.socket.once('close', onClose);
    });
  }

  /** The next frame; a PeerTimeoutError after `timeoutMs`, a ConnectionLostError when the connection ends. */
  receive(timeoutMs: number): Promise<Frame> {
    const ready = this.queue.shift();
    if (ready) {
      if (this.queue.length <= 64) this.socket.resume();
      return Promise.resolve(ready);
    }
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<Frame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new PeerTimeoutError(Math.ceil(timeoutMs / 1000)));
      }, timeoutMs);
      this.waiter = {
        resolve: (frame) => { clearTimeout(timer); resolve(frame); },
        reject: (error) => { clearTimeout(timer); reject(error); },
      };
    });
  }

  /** The next frame, which must be the control message `type`; a remote error message throws. */
  async expect(type: string, timeoutMs: number): Promise<ControlMessage> {
    const frame = await this.receive(timeoutMs);
    if (frame.kind !== 'json') throw new ProtocolError(`Expected "${type}", got payload bytes.`);
    if (frame.message.t === 'error') throw remoteError(frame.message, this.authenticated);
    if (frame.message.t !== type) throw new ProtocolError(`Expected "${type}", got "${clean(frame.message.t)}".`);
    return frame.message;
  }

  /**
   * Sends an error message (best effort) and closes. From now on nothing from the other end is
   * taken: what it still sends is read and dropped (not left unread, so that its close is seen and
   * no reset overtakes the refusal), and frames queued already are let go. A refused device, anyone
   * on the network with any certificate, could otherwise have a listener queue 64 frames of 256 KiB
   * (16 MiB) on each connection for the second it stays open. Those connections are bounded too
   * (`MAX_REFUSED_OPEN`).
   */
  refuse(code: string, message: string, reason?: string): void {
    this.tell({ code, message, reason });
    this.finish();
    lingerRefused(this.socket);
  }

  /** Sends an error message once (best effort), without closing. */
  tell(notice: PeerNotice): void {
    if (this.told || this.socket.destroyed) return;
    this.told = true;
    try {
      this.send({ t: 'error', code: notice.code, message: notice.message, ...(notice.reason ? { reason: notice.reason } : {}) });
    } catch {
      // The socket may already be gone; closing is what matters.
    }
  }

  /**
   * Ends the connection after `error` ended this side's part: tells the other device what failed
   * here (`noticeForPeer`: its code and the kind of problem, never a path), so its person reads
   * "the other device's disk is full" instead of a lost connection or a protocol error. Nothing is
   * told back when the error is the other device's own word, or the connection is gone already.
   */
  endWith(error: unknown): void {
    const lost = this.failure !== undefined && this.queue.length === 0 && this.socket.destroyed;
    const settled = SETTLED.has((error as { code?: unknown } | undefined)?.code as string);
    if (this.told || lost || settled || (error instanceof Error && fromPeer.has(error)) || error instanceof ConnectionLostError) {
      this.close();
      return;
    }
    const notice = noticeForPeer(error);
    this.refuse(notice.code, notice.message, notice.reason);
  }

  /**
   * Closes the connection once the session is over (or ended by the other device's word). The
   * socket is half-closed, not destroyed: this side's last frame (the trust commit's answer, a
   * receipt) may still sit in its buffers, and destroying it, or leaving the other device's bytes
   * unread, makes the kernel answer with a reset that can overtake that frame. So it stays open
   * until the other end closes too, at most `CLOSE_LINGER_MS`; what arrives meanwhile is read
   * and dropped, as for a refused connection: nobody reads this channel any more, and a device
   * that proved the secret could otherwise have had 64 frames of 256 KiB (16 MiB) queued here, or
   * a file's last frames acted on, after its session had ended.
   */
  close(): void {
    this.finish();
    setTimeout(() => this.socket.destroy(), CLOSE_LINGER_MS).unref();
  }

  /**
   * This side takes nothing more: frames queued or half read are let go, the socket reads on (a
   * socket paused for a full queue too) to drop what comes and see the other end close, and is
   * half-closed after what this side wrote.
   */
  private finish(): void {
    this.finished = true;
    this.queue.length = 0;
    this.buffer = Buffer.alloc(0);
    this.parts = [];
    this.partsBytes = 0;
    this.socket.resume();
    this.socket.end();
  }

  /**
   * The socket's 'data' handler. Nothing the other device sends may throw out of it: an exception
   * there is uncaught, and one malformed frame from anyone on the network (before any secret or
   * key was proven) ended the whole process, an offer or `lan connect --listen` included. Whatever
   * `read` throws fails the channel as a protocol error and cuts the connection, as a malformed
   * frame does: the waiting side then refuses it (and an offer counts it as a failed attempt).
   */
  private onData(chunk: Buffer): void {
    this.gotBytes = true;
    try {
      this.read(chunk);
    } catch (error) {
      this.buffer = Buffer.alloc(0);
      this.parts = [];
      this.partsBytes = 0;
      this.fail(new ProtocolError(`A message from the other device could not be read (${terminalText((error as Error | undefined)?.message, 200)}).`));
      this.socket.destroy();
    }
  }

  /** Bytes of the other end's frames this channel holds unread (`heldFrameBytes`). */
  heldBytes(): number {
    let bytes = this.buffer.length + this.partsBytes;
    for (const frame of this.queue) if (frame.kind === 'data') bytes += frame.data.length;
    return bytes;
  }

  private read(chunk: Buffer): void {
    // Stopping: nothing more is acted on (a file being received must not be finished and named
    // after its `.partial` was removed) while the notice goes out. Refused or closed: nothing
    // more is taken.
    if (this.stopped || this.finished) return;
    this.parts.push(chunk);
    this.partsBytes += chunk.length;
    if (this.buffer.length + this.partsBytes < this.needed) return;
    this.buffer = this.buffer.length === 0 && this.parts.length === 1 ? chunk : Buffer.concat([this.buffer, ...this.parts]);
    this.parts = [];
    this.partsBytes = 0;
    this.needed = HEADER;
    while (this.buffer.length >= HEADER) {
      const type = this.buffer[0]!;
      const length = this.buffer.readUInt32BE(1);
      const limit = type === JSON_FRAME ? MAX_JSON_FRAME : type === DATA_FRAME ? MAX_DATA_FRAME : -1;
      if (limit < 0 || length > limit) {
        this.fail(new ProtocolError(limit < 0 ? `Unknown frame type ${type}.` : 'A frame exceeded the size limit.'));
        this.socket.destroy();
        return;
      }
      if (this.buffer.length < HEADER + length) {
        this.needed = HEADER + length;
        return;
      }
      this.heard = true;
      const body = this.buffer.subarray(HEADER, HEADER + length);
      this.buffer = this.buffer.subarray(HEADER + length);
      let frame: Frame;
      if (type === JSON_FRAME) {
        let message: unknown;
        try {
          message = JSON.parse(body.toString('utf8'));
        } catch {
          message = undefined;
        }
        if (!message || typeof message !== 'object' || typeof (message as ControlMessage).t !== 'string' || !wellFormedError(message as ControlMessage)) {
          this.fail(new ProtocolError('A malformed control message arrived.'));
          this.socket.destroy();
          return;
        }
        frame = { kind: 'json', message: message as ControlMessage };
        if (frame.message.t === 'error' && !this.peerError) {
          // Kept apart from the queue: a sender busy writing a file reads nothing until it is
          // sent, and must stop at once and say why when the connection then closes.
          this.peerError = remoteError(frame.message, this.authenticated);
          this.stopSending?.(this.peerError);
        }
      } else {
        frame = { kind: 'data', data: Buffer.from(body) };
      }
      const waiter = this.waiter;
      if (waiter) {
        this.waiter = undefined;
        waiter.resolve(frame);
      } else {
        this.queue.push(frame);
        // Bounded: a peer that floods frames nobody reads is paused until they are read.
        if (this.queue.length > 64) this.socket.pause();
      }
    }
    if (this.queue.length <= 64) this.socket.resume();
  }

  /** Why the connection ended when the other end closed it without a word. */
  private closed(): string {
    if (this.heard) return CLOSED;
    if (this.side === 'listener') return this.gotBytes ? LEFT_MID_MESSAGE : LEFT_UNHEARD;
    return CLOSED_UNHEARD;
  }

  private fail(error: Error): void {
    if (this.failure) return;
    // The other device said why before it closed: that, not "the connection was lost".
    this.failure = this.peerError ?? error;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(this.failure);
  }
}

/**
 * Leaves a refused connection open for its refusal to be read, then destroys it; the oldest such
 * connection is destroyed at once when more than `MAX_REFUSED_OPEN` are open.
 */
function lingerRefused(socket: Duplex): void {
  if (socket.destroyed || refusedOpen.has(socket)) return;
  refusedOpen.add(socket);
  socket.once('close', () => refusedOpen.delete(socket));
  setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
  if (refusedOpen.size > MAX_REFUSED_OPEN) {
    const oldest = refusedOpen.values().next().value!;
    refusedOpen.delete(oldest);
    oldest.destroy();
  }
}

/**
 * False for an error message whose code or words are not text (`{"message": {"toString": 1}}`, an
 * array, an object): every pairgate sends a string for each, so anything else is malformed and
 * refused as such, never turned into words for a person.
 */
function wellFormedError(message: ControlMessage): boolean {
  if (message.t !== 'error') return true;
  return typeof message.code === 'string' && (typeof message.message === 'string' || typeof message.message === 'number');
}

function header(type: number, length: number): Buffer {
  const h = Buffer.alloc(HEADER);
  h[0] = type;
  h.writeUInt32BE(length, 1);
  return h;
}
