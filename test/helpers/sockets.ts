import { connect, type Socket } from 'node:net';

/**
 * Opens `count` TCP connections to `port` on 127.0.0.1 from `localAddress` (any 127.x address:
 * each is a network of its own to the server's per-network caps); resolves once each connected
 * or failed.
 */
export async function openConnectionsFrom(port: number, localAddress: string, count: number): Promise<Socket[]> {
  const sockets = Array.from({ length: count }, () => connect({ host: '127.0.0.1', port, localAddress }));
  await Promise.all(sockets.map((socket) => new Promise<void>((resolve) => {
    socket.once('connect', () => resolve());
    socket.once('error', () => resolve());
  })));
  return sockets;
}
