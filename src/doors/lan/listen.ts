import type { AddressInfo, Server, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { explainListenError, type Listener } from '../../server/listen-errors.js';

/**
 * The lan listeners' settings, as the commands name them (`lan offer`, `lan connect --listen`,
 * `doctor`): a port in use or an address not of this machine is told in words with the option
 * to change (exit code 2), not as Node's `listen EADDRNOTAVAIL` (exit code 1).
 */
const LAN_LISTENER: Listener = { purpose: 'pairing', portSetting: '--port', hostSetting: '--bind' };

/**
 * Starts a (TLS or sniffing) server on all addresses: `::` with IPv4 mapped (dual stack), or 0.0.0.0 where the
 * host has no IPv6. `host` narrows it (tests bind to loopback).
 */
export async function listenTls(server: Server, port: number, host?: string): Promise<number> {
  try {
    await listenOn(server, port, host);
  } catch (error) {
    throw explainListenError(error, { ...LAN_LISTENER, ...(host ? { host } : {}), ...(port ? { port } : {}) });
  }
  return (server.address() as AddressInfo).port;
}

function listenOn(server: Server, port: number, host: string | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      if (!host && (error.code === 'EAFNOSUPPORT' || error.code === 'EADDRNOTAVAIL')) {
        server.once('error', reject);
        server.listen(port, '0.0.0.0', () => resolve());
      } else {
        reject(error);
      }
    };
    server.once('error', onError);
    server.listen({ port, host: host ?? '::', ipv6Only: false }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** The peer's address without the IPv4-mapped prefix. */
export function plainAddress(address: string | undefined): string {
  return (address ?? '').replace(/^::ffff:/, '');
}

/**
 * The address a TLS server's socket came from (as `plainAddress`), also once it has closed: Node
 * forgets it on the TLS socket when the connection is gone, so a device that left in the middle of
 * its handshake was logged as coming "from " nobody. The TCP socket beneath (`_parent`) still
 * knows it: the connection limits asked it at once, and Node keeps the answer.
 */
export function peerAddress(socket: TLSSocket): string {
  const beneath = (socket as unknown as { _parent?: Socket })._parent;
  return plainAddress(socket.remoteAddress ?? beneath?.remoteAddress) || 'an unknown address';
}

/**
 * The log line of a TLS handshake that failed (never counted as a failed attempt: no guess was
 * made). One that the other side cut is what a device does when our key is not the one it pins,
 * which is worth saying: its own error says "key mismatch", this side would otherwise only read
 * "socket hang up". `listener` says which: an offer (a connection string pins its session key, and
 * it counts failed attempts) or `lan connect --listen` (a trusted peer pins this device's key, and
 * nothing is counted), whose log read of connection strings and counts it does not have.
 */
export function handshakeFailure(address: string, error: Error, listener: 'offer' | 'connect' = 'offer'): string {
  const cut = (error as NodeJS.ErrnoException).code === 'ECONNRESET' || /socket hang up/i.test(error.message);
  if (listener === 'connect') {
    return cut
      ? `A device at ${address} left during the TLS handshake: a device that expects another key here does so (one that paired with another device at this address and port, or with this one before it got a new device key).`
      : `A TLS handshake from ${address} failed: ${error.message}`;
  }
  return cut
    ? `A device at ${address} left during the TLS handshake (not counted): a device that expects another key here does so (an old or mistyped connection string, say).`
    : `A TLS handshake from ${address} failed (not counted): ${error.message}`;
}
