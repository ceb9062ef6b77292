import { ConflictError, ForbiddenError, InvalidRequestError, NotFoundError, PairgateError, UnauthorizedError } from '../../core/errors.js';

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

/** The peer could not prove it holds the pairing secret. */
export class WrongSecretError extends UnauthorizedError {
  constructor(message = 'The other device could not prove it holds the pairing secret.') {
    super(message, 'lan_wrong_secret');
  }
}

/** The listener already paired with someone, or stopped after its timeout or too many failures. */
export class ListenerClosedError extends ConflictError {
  constructor(message: string, code = 'lan_listener_closed') {
    super(message, code);
  }
}

/** A protocol message that is malformed, too large or out of order. */
export class ProtocolError extends InvalidRequestError {
  constructor(message: string) {
    super(message, undefined, 'lan_protocol_error');
  }
}

/** No address of the string (nor discovery) reached the device. */
export class PeerUnreachableError extends PairgateError {
  constructor(message: string) {
    super('lan_peer_unreachable', 504, message);
  }
}

/** A trusted peer named on the command line is not in the trusted-peer store. */
export class UnknownPeerError extends NotFoundError {
  constructor(peer: string) {
    super(`No trusted peer matches "${peer}". Run "pairgate peers list" to see them.`, 'lan_unknown_peer');
  }
}
