import { isIPv6 } from 'node:net';
import tls from 'node:tls';
import { PeerUnreachableError, PinMismatchError } from './lan-errors.js';
import { peerCertificatePin } from './tls-identity.js';

/**
 * Dialling a device pinned by its key: TLS >= 1.2 to every address at once, no CA, and only a
 * certificate whose public key hashes to the pin is accepted. The first pinned connection wins;
 * the others are closed.
 */

/** A pinned connection and the address that answered. */
export interface PinnedConnection {
  socket: tls.TLSSocket;
  address: string;
}

/** Our own certificate for mutual TLS (`lan connect`). */
export interface ClientCertificate {
  keyPem: string;
  certPem: string;
}

/**
 * TLS >= 1.2 to one address, no CA (the caller checks the peer: a pin, or a PAKE over the
 * connection), presenting `client` when given; PeerUnreachableError when nothing answers in time.
 */
export function dialTls(address: string, port: number, timeoutMs: number, client?: ClientCertificate): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: address,
      port,
      minVersion: 'TLSv1.2',
      // No CA: what the caller checks once connected is the whole check.
      rejectUnauthorized: false,
      ...(client ? { key: client.keyPem, cert: client.certPem } : {}),
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new PeerUnreachableError(`${label(address, port)}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(new PeerUnreachableError(`${label(address, port)}: ${handshakeProblem(error) ?? error.message}`, (error as NodeJS.ErrnoException).code === 'ECONNREFUSED'));
    });
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}

/**
 * OpenSSL's words when the first bytes back are not a TLS record (a plain HTTP server answers the
 * ClientHello with "HTTP/1.1 400"), as `src/sdk/dns-update.ts` reads them; Node reports them as EPROTO.
 */
const PLAIN_ANSWER = /wrong version number|packet length too long|record layer failure/i;

/**
 * A TLS handshake that failed, in words with what to do, or undefined for any other failure (a
 * refused port, a reset). It was OpenSSL's line as Node gives it
 * (`80AC...:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/...`),
 * which told the person nothing of a wrong port; its reason is kept in brackets.
 */
export function handshakeProblem(error: Error): string | undefined {
  const { code, reason } = error as NodeJS.ErrnoException & { reason?: unknown };
  const tls = code === 'EPROTO' || (typeof code === 'string' && code.startsWith('ERR_SSL_'));
  if (!tls) return undefined;
  const cause = typeof reason === 'string' && reason ? reason : error.message.split(':').find((part) => PLAIN_ANSWER.test(part)) ?? code;
  return PLAIN_ANSWER.test(error.message)
    ? `something answered, but not in TLS (${cause}): it is not a pairgate lan endpoint; check the address and port`
    : `the TLS handshake failed (${cause}): it is not a pairgate lan endpoint, or it runs an incompatible version; check the address and port, and update pairgate on both devices`;
}

/** Connects to one address; rejects with PinMismatchError when the key is not the pinned one. */
export async function dialPinned(address: string, port: number, pin: Buffer, timeoutMs: number, client?: ClientCertificate): Promise<tls.TLSSocket> {
  const socket = await dialTls(address, port, timeoutMs, client);
  let pinned = false;
  try {
    pinned = peerCertificatePin(socket)?.equals(pin) ?? false;
  } catch {
    // A certificate that cannot be read (lan_bad_certificate) holds no pinned key; left uncaught,
    // the socket stayed open.
  }
  if (!pinned) {
    socket.destroy();
    throw new PinMismatchError();
  }
  return socket;
}

/** `[::1]:port` or `10.0.0.2:port`. */
export function label(address: string, port: number): string {
  return isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * Dials every address in parallel; the first pinned connection wins. When none works, throws
 * PinMismatchError if any address answered with another key, else PeerUnreachableError listing
 * why each failed (`portClosed` when each said that nothing listens on the port).
 */
export async function dialFirst(addresses: readonly string[], port: number, pin: Buffer, timeoutMs: number, client?: ClientCertificate): Promise<PinnedConnection> {
  if (addresses.length === 0) throw new PeerUnreachableError('There is no address to try.');
  const attempts = addresses.map((address) => dialPinned(address, port, pin, timeoutMs, client).then((socket) => ({ socket, address })));
  try {
    const winner = await Promise.any(attempts);
    // Close the losers that still connect later.
    for (const attempt of attempts) void attempt.then((c) => { if (c.socket !== winner.socket) c.socket.destroy(); }, () => undefined);
    return winner;
  } catch (error) {
    const errors = (error as AggregateError).errors as Error[];
    const mismatch = errors.find((e) => e instanceof PinMismatchError);
    if (mismatch) throw mismatch;
    const portClosed = errors.every((e) => e instanceof PeerUnreachableError && e.portClosed);
    throw new PeerUnreachableError(`No address answered: ${errors.map((e) => e.message).join('; ')}.`, portClosed);
  }
}
