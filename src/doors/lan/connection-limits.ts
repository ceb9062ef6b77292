import type net from 'node:net';
import { plainAddress } from './listen.js';

/**
 * Limits on the connections a lan listener holds before they finish their TLS handshake. Anyone on
 * the network can open them; they make no guess, so no failure limit ends them, and Node holds a
 * TLS handshake for two minutes by default. Without limits, one machine opening thousands (a byte
 * each, then nothing) held tens of kilobytes apiece and, at the process's file limit, left no
 * descriptor to accept the device that holds the string.
 *
 * So: each remote address may hold at most `perAddress` unfinished connections (more from it are
 * closed at once: that address is the only one to suffer), and all together at most `total`, the
 * oldest closed to make way for a new one (an attacker with many addresses then has to open
 * connections faster than a real joiner completes its handshake, a few milliseconds, to keep it
 * out). The caller's handshake timeout bounds how long each is held.
 */

/** The limits. */
export interface ConnectionLimits {
  /** Unfinished connections one remote address may hold (default 16: a code joiner dials up to 8 of one offer's endpoints). */
  perAddress?: number;
  /** Unfinished connections all together (default 128). */
  total?: number;
  /** Hears each connection closed by a limit. */
  log?: (line: string) => void;
}

/** Default of `perAddress`. */
export const MAX_UNFINISHED_PER_ADDRESS = 16;
/** Default of `total`. */
export const MAX_UNFINISHED_TOTAL = 128;

/** The unfinished connections of one listener. */
export interface UnfinishedConnections {
  /** Counts a new connection; false (and the socket destroyed) when its address already holds too many. */
  admit(socket: net.Socket): boolean;
  /** The connection finished its TLS handshake (given the TLS socket, or the raw one): it counts no more. */
  finished(socket: { remoteAddress?: string; remotePort?: number }): void;
  /** Closes every one held (the listener is closing). */
  dropAll(): void;
  /** How many are held now. */
  size(): number;
}

const keyOf = (socket: { remoteAddress?: string; remotePort?: number }) => `${plainAddress(socket.remoteAddress)}|${socket.remotePort ?? ''}`;

/**
 * Tracks unfinished connections. A TLS socket and the TCP socket under it share their remote
 * address and port, which on one listening port name one connection: that is the key, so the TLS
 * server's `secureConnection` can say which one finished.
 */
export function unfinishedConnections(limits: ConnectionLimits = {}): UnfinishedConnections {
  const perAddress = limits.perAddress ?? MAX_UNFINISHED_PER_ADDRESS;
  const total = limits.total ?? MAX_UNFINISHED_TOTAL;
  // Oldest first (a Map keeps insertion order).
  const held = new Map<string, { socket: net.Socket; address: string }>();
  const byAddress = new Map<string, number>();

  const forget = (key: string) => {
    const entry = held.get(key);
    if (!entry) return;
    held.delete(key);
    const left = (byAddress.get(entry.address) ?? 1) - 1;
    if (left > 0) byAddress.set(entry.address, left);
    else byAddress.delete(entry.address);
  };

  return {
    admit(socket) {
      const address = plainAddress(socket.remoteAddress);
      if ((byAddress.get(address) ?? 0) >= perAddress) {
        limits.log?.(`Closed a connection from ${address}: it already holds ${perAddress} that have not finished their TLS handshake.`);
        socket.destroy();
        return false;
      }
      if (held.size >= total) {
        const [oldestKey, oldest] = held.entries().next().value!;
        forget(oldestKey);
        limits.log?.(`${total} connections have not finished their TLS handshake: closed the oldest, from ${oldest.address}, for a new one.`);
        oldest.socket.destroy();
      }
      const key = keyOf(socket);
      held.set(key, { socket, address });
      byAddress.set(address, (byAddress.get(address) ?? 0) + 1);
      socket.once('close', () => { if (held.get(key)?.socket === socket) forget(key); });
      return true;
    },
    finished(socket) {
      forget(keyOf(socket));
    },
    dropAll() {
      for (const [key, { socket }] of [...held]) {
        forget(key);
        socket.destroy();
      }
    },
    size: () => held.size,
  };
}
