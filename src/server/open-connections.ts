import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/** A socket of Node's HTTP server: the answer it is writing, while a request on it is answered. */
interface HttpSocket extends Socket {
  _httpMessage?: unknown;
}

/**
 * The HTTP connections a server holds, so that shutting down can drop every one with no request
 * in flight. Node's own `closeIdleConnections` skips a connection that has not finished sending a
 * request (connected and silent, or halfway through its headers): Node counts it as busy from the
 * moment it connects, and it stops checking request timeouts once closing, so one such connection
 * held every shutdown for the whole PAIRGATE_SHUTDOWN_GRACE_SECONDS though no request was in
 * flight.
 *
 * A connection has a request in flight from the moment its headers were read (the router has it:
 * its body may still be arriving, its answer may be a long-poll or a stream) until its answer is
 * written; Node keeps that answer on the socket meanwhile (`_httpMessage`, which its own
 * `closeIdleConnections` reads too). Reading that at close costs nothing per request, where a
 * listener on every request and response would cost each of them. An upgraded connection (a
 * WebSocket) is its handler's to close (the support door closes its sockets with 1001 on the
 * shutdown signal), so it is left alone.
 */
export class OpenConnections {
  private readonly sockets = new Set<Socket>();

  /**
   * Watches `server`'s connections. Another `upgrade` listener must take the upgrades (the app's
   * WebSocketUpgrades) by the time it listens: with this one alone, Node would hand them to no one.
   */
  constructor(server: Server) {
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    server.on('upgrade', (_request: unknown, socket: Socket) => this.sockets.delete(socket));
  }

  /** Destroys every HTTP connection with no request in flight; returns how many. */
  dropIdle(): number {
    let dropped = 0;
    for (const socket of this.sockets) {
      if ((socket as HttpSocket)._httpMessage) continue;
      this.sockets.delete(socket);
      socket.destroy();
      dropped++;
    }
    return dropped;
  }
}
