import { BadGatewayError, ConflictError, ForbiddenError, InvalidRequestError, NotFoundError, PairgateError, UnauthorizedError, UnavailableError } from '../../core/errors.js';

/**
 * Errors of the `lan` door. Each has a stable machine code so programs (and the tests) can tell a
 * wrong secret from a wrong key or a closed listener. None of them ever carries the secret.
 */

/** A connection string that cannot be used; `field` names the part at fault. */
export class BadConnectionStringError extends InvalidRequestError {
  constructor(message: string, field: string) {
    super(message, { field }, 'lan_bad_connection_string');
  }
}

/** The peer presented a TLS key other than the pinned one (a man in the middle, or a stale string). */
export class PinMismatchError extends ForbiddenError {
  constructor(message = 'The device answered with a different key than the connection string pins; refusing it (possible man in the middle, or an old string).') {
    super(message, 'lan_key_mismatch');
  }
}

/**
 * A device presented a TLS certificate whose public key cannot be read, so no pin can be taken of
 * it (`peerCertificatePin`): not a key any device here pinned. The listener logs it and refuses
 * that connection; it used to throw out of the connection's handler and end the whole process.
 */
export class BadCertificateError extends ForbiddenError {
  constructor(message: string) {
    super(message, 'lan_bad_certificate');
  }
}

/**
 * The pairing peer named a device key (to be trusted under) that it did not prove it holds
 * (`key-proof.ts`): it may be trying to make this device trust another device's key.
 */
export class KeyNotProvenError extends ForbiddenError {
  constructor(message = 'The other device asked to be trusted under a device key it did not prove it holds; refusing it (it may be trying to pass for another device). Nothing was saved.') {
    super(message, 'lan_key_not_proven');
  }
}

/** The peer could not prove it holds the pairing secret. */
export class WrongSecretError extends UnauthorizedError {
  constructor(message = 'The other device could not prove it holds the pairing secret.') {
    super(message, 'lan_wrong_secret');
  }
}

/** The other device could not prove it knows the short pairing code (a wrong code, or an impostor). */
export class WrongCodeError extends UnauthorizedError {
  constructor(message = 'Wrong pairing code: the other device does not know the same code.') {
    super(message, 'lan_wrong_code');
  }
}

/**
 * The code was proven, but not over this TLS connection: something in the middle terminates TLS
 * on each side and forwards the messages (a relay). Nothing is exchanged with it.
 */
export class ChannelBindingError extends ForbiddenError {
  constructor(message = 'The pairing code was proven over another TLS connection than ours: a device in the middle is relaying the connection. Refusing it.') {
    super(message, 'lan_channel_binding_mismatch');
  }
}

/** A short pairing code that cannot be one (wrong length, not digits). */
export class BadCodeError extends InvalidRequestError {
  constructor(message: string) {
    super(message, { field: 'code' }, 'lan_bad_code');
  }
}

/** No device offering a pairing code (or none matching `--device`) announced itself in time. */
export class DeviceNotFoundError extends PairgateError {
  constructor(message: string) {
    super('lan_device_not_found', 504, message);
  }
}

/** Several devices offer a pairing code and none was named: the user must pick one (`--device`). */
export class AmbiguousDeviceError extends ConflictError {
  constructor(message: string) {
    super(message, 'lan_ambiguous_device');
  }
}

/** The listener already paired with someone, or stopped after its timeout or too many failures. */
export class ListenerClosedError extends ConflictError {
  constructor(message: string, code = 'lan_listener_closed') {
    super(message, code);
  }
}

/**
 * The offer turned this device away because every place for a device proving the secret or code
 * was taken by others mid-proof (other devices trying to pair, or someone else on the network).
 * Nothing the person typed was wrong and the places free up within seconds: a 503, so the CLI
 * exits 1 and the message says to try again.
 */
export class OfferBusyError extends UnavailableError {
  constructor(message = 'The other device is busy with other devices trying to pair with it (someone else on the network may be trying to pair with it too). Try again in a few seconds.') {
    super(message, 'lan_offer_busy');
  }
}

/**
 * What the person can do when what arrived is not pairgate's lan protocol (a frame of an unknown
 * type or over the size limit, a malformed or unexpected message): the other end is not a pairgate
 * lan endpoint (a wrong address or port: another program answered), or it runs a pairgate this one
 * cannot talk to. Said to the person running the command (`ProtocolError.nextStep`), never sent to
 * the other device, which reads the precise cause alone.
 */
export const NOT_LAN_PROTOCOL_STEP = 'The other end does not speak pairgate\'s lan protocol as this version does: it may not be a pairgate lan endpoint (check the address and port, or the connection string), or it runs an incompatible version (update pairgate on both devices to the same version). Then try again; if it fails again, run "pairgate doctor" on each device.';

/** What the person can do when the other device refused what this one sent as a protocol error. */
export const PROTOCOL_REFUSED_STEP = 'Both ends run pairgate, but maybe versions that cannot talk to each other: update pairgate on both devices to the same version, then try again (and run "pairgate doctor" on each device if it fails again).';

/**
 * A protocol message that is malformed, too large or out of order. The message is the precise
 * cause (what the other device is told too); `nextStep`, unless the message says what to do
 * itself, is what the CLI adds for its person (`withNextStep`).
 */
export class ProtocolError extends InvalidRequestError {
  /** `nextStep` null: the message says what to do itself (undefined would take the default). */
  constructor(message: string, readonly nextStep: string | null = NOT_LAN_PROTOCOL_STEP) {
    super(message, undefined, 'lan_protocol_error');
  }
}

/**
 * What an error message carries beside `lan_protocol_error` (`reason`) when the device that sent it
 * refused the other device itself, not what it sent: it proved the secret or code but has another
 * device id than the connection string, or the announcement the code was proven for, names. The
 * code stays `lan_protocol_error`: each pairgate knows its refusal codes by name and reads any other
 * as a failure of the other device (`frames.ts`, `peer-failure.ts`), so a new code would reach a
 * device not yet upgraded as "the other device failed" (exit 1) instead of a refusal (exit 2).
 * A pairgate that does not know `reason` ignores it and shows the words as before.
 */
export const DEVICE_ID_MISMATCH_REASON = 'device_id_mismatch';

/**
 * The device reached has another device id than the one the connection string or code's
 * announcement named (`lan_protocol_error`). The message says what to do itself: update advice
 * (PROTOCOL_REFUSED_STEP, NOT_LAN_PROTOCOL_STEP) would be wrong, since both ends spoke the
 * protocol and only the id they were given was.
 */
export class DeviceIdMismatchError extends ProtocolError {
  constructor(message: string) {
    super(message, null);
  }
}

/**
 * `error` as the person running a lan command reads it: a protocol error with its next step after
 * the precise cause (the same class and code, so the exit code stays 2); any other error as it is.
 */
export function withNextStep(error: unknown): unknown {
  if (!(error instanceof ProtocolError) || !error.nextStep) return error;
  return new ProtocolError(`${error.message.replace(/\.?$/, '.')} ${error.nextStep}`, null);
}

/**
 * The other device went silent for longer than this one waits for its next message: nothing the
 * person typed was wrong (a 5xx, so exit code 1), the other side hangs or the network dropped.
 */
export class PeerTimeoutError extends PairgateError {
  constructor(readonly seconds: number) {
    super('lan_timeout', 504, `The other device did not answer within ${seconds} s: check that pairgate still runs there and that both devices are still on the network, then try again.`);
  }
}

/**
 * A received file could not be written (a full disk, an I/O error): a failure of this machine,
 * not of the other device nor of the person's input (a 5xx, so exit code 1).
 */
export class PayloadWriteError extends PairgateError {
  /** `errno`: the system's code (ENOSPC...), what the other device is told instead of the path. */
  constructor(dir: string, reason: string, readonly errno?: string) {
    super('lan_write_failed', 507, `Could not save the received file in ${dir} (${reason}). Free some space there, or choose another folder with --out, then pair again.`);
  }
}

/**
 * The other device offered a file larger than this one accepts (`--max-size`): refused before a
 * byte of it is written. The person here decides (a larger `--max-size`): exit code 2.
 */
export class PayloadOverLimitError extends PairgateError {
  constructor(readonly size: number, readonly limit: number) {
    super('lan_payload_too_large', 413, `The other device sends a file of ${size} bytes, over this device's limit of ${limit} (--max-size): run again with a larger --max-size to accept it.`);
  }
}

/**
 * The other device failed in the middle of the exchange and said why (its disk filled, it timed
 * out, it was stopped): nothing went wrong on this device, nor in what the person typed here (a
 * 5xx, so exit code 1). `peerCode` is the other device's own code (cleaned), also in the message.
 */
export class PeerFailedError extends BadGatewayError {
  constructor(message: string, readonly peerCode: string) {
    super(message, 'lan_peer_failed');
  }
}

/**
 * The connection ended in the middle (the other device was stopped, with Ctrl-C say, or the
 * network cut): nothing the person typed was wrong, so not a 4xx (exit code 1, "try again").
 */
export class ConnectionLostError extends PairgateError {
  constructor(message: string) {
    super('lan_connection_lost', 502, message);
  }
}

/**
 * No address of the string (nor discovery) reached the device. `portClosed` when every address
 * answered that nothing listens on the port (ECONNREFUSED): the device is there, but what was to
 * listen (an offer, `lan connect --listen`) is not running, which the caller can say.
 */
export class PeerUnreachableError extends PairgateError {
  constructor(message: string, readonly portClosed = false) {
    super('lan_peer_unreachable', 504, message);
  }
}

/**
 * The config folder cannot be trusted with the device key and the trusted peers: it is not a
 * folder, or someone else may write to it (another user could plant a `peers.json` that trusts
 * their key, or a `device.json` whose key they know).
 */
export class UnsafeConfigDirError extends InvalidRequestError {
  constructor(message: string) {
    super(message, undefined, 'lan_unsafe_config_dir');
  }
}

/**
 * The config folder (or a file in it) cannot be written: it belongs to someone else, its mode
 * keeps this user out, or it is on a read-only file system. Fixed by the person (exit code 2).
 */
export class ConfigDirNotWritableError extends InvalidRequestError {
  constructor(message: string) {
    super(message, undefined, 'lan_config_dir_not_writable');
  }
}

/**
 * `peers.json` is not what this code writes (not JSON, or not a list of peers as `save` writes
 * them: damaged, or edited by hand): nothing in it is trusted, and it is never rewritten, since it
 * is the only record of whose keys were trusted. The person repairs it or moves it aside.
 */
export class BadPeersFileError extends InvalidRequestError {
  constructor(message: string) {
    super(message, undefined, 'lan_bad_peers_file');
  }
}

/**
 * `peers.json` cannot be read at all: this user may not read it, a folder has its name, or the
 * disk fails. Not called damaged (nothing says it is), nor rewritten: the person fixes the access
 * (exit code 2). `errno` is the system's code (EACCES, EISDIR...).
 */
export class PeersFileUnreadableError extends InvalidRequestError {
  constructor(message: string, readonly errno: string) {
    super(message, undefined, 'lan_peers_file_unreadable');
  }
}

/** A trusted peer named on the command line is not in the trusted-peer store. */
export class UnknownPeerError extends NotFoundError {
  /** `minPrefix`: said when `peer` is shorter, so a short prefix does not seem to name no one. */
  constructor(peer: string, minPrefix?: number) {
    const short = minPrefix !== undefined && peer.length < minPrefix ? ` (a key or device id prefix needs at least ${minPrefix} characters)` : '';
    super(`No trusted peer matches "${peer}"${short}. Run "pairgate peers list" to see them.`, 'lan_unknown_peer');
  }
}

/**
 * A name or prefix on the command line names several trusted peers (names default to the host
 * name, so two devices called "laptop" are common): refused rather than one picked, since
 * `peers remove` with the wrong one would keep trusting a stolen device. The message lists their
 * ids, which name each alone.
 */
export class AmbiguousPeerError extends ConflictError {
  constructor(peer: string, matches: { deviceId: string; name: string }[]) {
    const listed = matches.map((p) => `"${p.name}" (id ${p.deviceId})`).join(', ');
    super(`"${peer}" names ${matches.length} trusted peers: ${listed}. Name the one you mean by its device id (as "pairgate peers list" shows it).`, 'lan_ambiguous_peer');
  }
}

/**
 * A device that is pairing claims the device id of a peer already trusted under another key. Ids
 * are public (in QR codes, `lan nearby`, `peers list`), so saving it would let any device replace
 * a trusted peer's key by claiming its id, and `lan connect` to that peer would then reach it.
 * Refused; the message names the peer that holds the id and what to do if it was really reset.
 */
export class PeerIdConflictError extends ConflictError {
  constructor(message: string) {
    super(message, 'lan_peer_id_conflict');
  }
}

/**
 * Another pairgate command kept `peers.json` locked for longer than this one would wait (a few
 * seconds). Worth trying again: a 503, so the CLI exits 1, not 2.
 */
export class PeersFileBusyError extends UnavailableError {
  constructor(message: string) {
    super(message, 'lan_peers_file_busy');
  }
}

/**
 * `device.json` is not what this code writes (damaged, or edited by hand). It is this device's key,
 * which its peers pin, so it is refused rather than replaced by a new one.
 */
export class BadDeviceFileError extends InvalidRequestError {
  constructor(message: string) {
    super(message, undefined, 'lan_bad_device_file');
  }
}

/**
 * `device.json` cannot be read at all: this user may not read it, a folder has its name, or the
 * disk fails. Not called damaged (nothing says it is), nor replaced: its key is the one every
 * paired device pins, so the person fixes the access (exit code 2). `errno` is the system's code.
 */
export class DeviceFileUnreadableError extends InvalidRequestError {
  constructor(message: string, readonly errno: string) {
    super(message, undefined, 'lan_device_file_unreadable');
  }
}

/**
 * Pairing could not be completed because this device could not save the other one as a trusted
 * peer (a full disk, a folder it cannot write, `peers.json` locked or damaged). The message says
 * why, what the other device was told, and what to fix before pairing again.
 */
export class TrustNotSavedError extends UnavailableError {
  constructor(message: string) {
    super(message, 'lan_trust_not_saved');
  }
}

/**
 * The other device could not save this one as a trusted peer, so this device took its own entry
 * back: neither trusts the other (rather than this one alone).
 */
export class PeerNotSavedError extends BadGatewayError {
  constructor(message: string) {
    super(message, 'lan_peer_not_saved');
  }
}

/**
 * The connection ended (or went silent) before the other device said whether it saved this one,
 * so this device did not keep it: better to pair again than to trust a device that may not trust
 * back.
 */
export class TrustUnconfirmedError extends PairgateError {
  constructor(message: string) {
    super('lan_trust_unconfirmed', 504, message);
  }
}
