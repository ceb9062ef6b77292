import type { Server, Socket } from 'node:net';
import { connections, throttledDropLog, type DropLog } from '../../server/connection-cap.js';
import type { ConnectionRefusal } from '../../server/metrics.js';
import { publicNetworkOf } from '../../server/public-network.js';

/**
 * Bounds the update API's connections: `max` in all (Node refuses the others, `maxConnections`),
 * and one source network (an IPv4 address, an IPv6 /64) an eighth of them, at least 1, as the DNS
 * TCP server does. The listener is public (boxes reach it from anywhere; a client certificate is
 * asked for, not required), and without a bound a client holding connections open, each within
 * the request and keep-alive timeouts, could take every descriptor of the process, or every
 * connection boxes had. Refusals are logged, the first at once, then at most once a minute, and
 * each is `counted`.
 */
export function limitUpdateConnections(server: Server, max: number, log: DropLog, counted: (reason: ConnectionRefusal) => void = () => undefined): void {
  server.maxConnections = max;
  const perNetwork = Math.max(1, Math.floor(max / 8));
  const refusedOverall = throttledDropLog(log, (count) => `dns update API: refused ${connections(count)}: ${max} are open, PAIRGATE_DNS_UPDATE_MAX_CONNECTIONS. Raise it if boxes are refused at busy times. Told at most once a minute.`);
  const refusedForNetwork = throttledDropLog(log, (count) => `dns update API: refused ${connections(count)} from networks holding ${perNetwork} already (an eighth of PAIRGATE_DNS_UPDATE_MAX_CONNECTIONS). Told at most once a minute.`);
  server.on('drop', () => {
    counted('limit');
    refusedOverall();
  });
  const held = new Map<string, number>();
  // Before TLS takes the socket (its own 'connection' listener): a refused one costs no handshake.
  server.prependListener('connection', (socket: Socket) => {
    const network = publicNetworkOf(socket.remoteAddress ?? '');
    const count = held.get(network) ?? 0;
    if (count >= perNetwork) {
      counted('network');
      refusedForNetwork();
      socket.destroy();
      return;
    }
    held.set(network, count + 1);
    socket.once('close', () => {
      const left = (held.get(network) ?? 1) - 1;
      if (left <= 0) held.delete(network);
      else held.set(network, left);
    });
  });
}
