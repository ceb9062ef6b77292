import type { Server, Socket } from 'node:net';
import { connections, throttledDropLog, type DropLog } from '../../server/connection-cap.js';
import type { ConnectionRefusal } from '../../server/metrics.js';
import { publicNetworkOf } from '../../server/public-network.js';

/** What the cap keeps of one connection, to choose the one that makes way for a newcomer. */
interface HeldConnection {
  socket: Socket;
  /** `keyOf` the socket, read once as it connected. */
  key: string;
  network: string;
  /** When (monotonic ms) it connected, or an answer to it was last sent: bytes trickled in do not count. */
  lastActive: number;
  /** Requests of it whose headers arrived and whose answer is not sent yet. */
  busy: number;
}

/** The key of a connection both as the raw socket and as the TLS socket over it see it. */
const keyOf = (socket: { remoteAddress?: string; remotePort?: number }): string => `${socket.remoteAddress ?? ''}|${socket.remotePort ?? ''}`;

/**
 * Bounds the update API's connections: `max` in all, and one source network (an IPv4 address, an
 * IPv6 /64) an eighth of them, at least 1, as the DNS TCP server does (`dns-server.ts`), and as
 * there, when all are taken a newcomer takes the place of the oldest connection of the network
 * holding the most, unless its own network holds as many as that one less one; when no network
 * holds more than one, a newcomer from a network holding none takes the place of the connection
 * silent the longest (the last answer counts, not bytes trickled in), one with no request under
 * way. Refused outright, eight networks (eight IPv6 /64s: one home's /56 has 256) each keeping
 * their share open with a request every few seconds, or trickling headers, shut every box out of
 * its records (and of the mutual-TLS /register) for as long as they liked. The listener is public
 * (boxes reach it from anywhere; a client certificate is asked for, not required), and without a
 * bound a client holding connections open, each within the request and keep-alive timeouts, could
 * take every descriptor of the process. Refusals are logged, the first at once, then at most once
 * a minute, and each is `counted`.
 */
export function limitUpdateConnections(server: Server, max: number, log: DropLog, counted: (reason: ConnectionRefusal) => void = () => undefined, now: () => number = () => performance.now()): void {
  const perNetwork = Math.max(1, Math.floor(max / 8));
  const refusedOverall = throttledDropLog(log, (count) => `dns update API: refused ${connections(count)}: ${max} are open, PAIRGATE_DNS_UPDATE_MAX_CONNECTIONS. Raise it if boxes are refused at busy times. Told at most once a minute.`);
  const refusedForNetwork = throttledDropLog(log, (count) => `dns update API: refused ${connections(count)} from networks holding ${perNetwork} already (an eighth of PAIRGATE_DNS_UPDATE_MAX_CONNECTIONS). Told at most once a minute.`);
  /** Every connection held, by its key (`keyOf`). */
  const held = new Map<string, HeldConnection>();
  /** Each network's connections, oldest first (a Set keeps insertion order). */
  const perNetworkHeld = new Map<string, Set<HeldConnection>>();
  const release = (connection: HeldConnection): void => {
    if (held.get(connection.key) !== connection) return;
    held.delete(connection.key);
    const mine = perNetworkHeld.get(connection.network);
    mine?.delete(connection);
    if (mine?.size === 0) perNetworkHeld.delete(connection.network);
  };
  /** Closes `connection` for a newcomer: released now, not at its close event, so the newcomer takes its place at once. */
  const evict = (connection: HeldConnection): void => {
    release(connection);
    connection.socket.destroy();
  };
  /** Makes room for a newcomer whose network holds `mine` (see above); false when it is refused instead. */
  const makeRoomFor = (mine: number): boolean => {
    let largest: Set<HeldConnection> | undefined;
    for (const sockets of perNetworkHeld.values()) if (!largest || sockets.size > largest.size) largest = sockets;
    if (largest && largest.size > mine + 1) {
      evict(largest.values().next().value!);
      return true;
    }
    if (mine > 0) return false;
    let idlest: HeldConnection | undefined;
    for (const connection of held.values()) if (connection.busy === 0 && (!idlest || connection.lastActive < idlest.lastActive)) idlest = connection;
    if (!idlest) return false;
    evict(idlest);
    return true;
  };
  // Before TLS takes the socket (its own 'connection' listener): a refused one costs no handshake.
  server.prependListener('connection', (socket: Socket) => {
    const network = publicNetworkOf(socket.remoteAddress ?? '');
    const count = perNetworkHeld.get(network)?.size ?? 0;
    if (count >= perNetwork) {
      counted('network');
      refusedForNetwork();
      socket.destroy();
      return;
    }
    if (held.size >= max && !makeRoomFor(count)) {
      counted('limit');
      refusedOverall();
      socket.destroy();
      return;
    }
    const connection: HeldConnection = { socket, key: keyOf(socket), network, lastActive: now(), busy: 0 };
    held.set(connection.key, connection);
    const mine = perNetworkHeld.get(network) ?? new Set<HeldConnection>();
    mine.add(connection);
    perNetworkHeld.set(network, mine);
    socket.once('close', () => release(connection));
  });
  // A request under way keeps its connection from being taken for a newcomer; its answer sent
  // (or its connection gone) makes it active now. The HTTP request's socket is the TLS socket over
  // the raw one, with the same remote address and port.
  server.on('request', (request: { socket: Socket }, response: { once(event: 'close', listener: () => void): unknown }) => {
    const connection = held.get(keyOf(request.socket));
    if (!connection) return;
    connection.busy++;
    response.once('close', () => {
      connection.busy--;
      connection.lastActive = now();
    });
  });
}
