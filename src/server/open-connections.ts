import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** A socket of Node's HTTP server: the answer it is writing, while a request on it is answered. */
interface HttpSocket extends Socket {
  _httpMessage?: ServerResponse | null;
}

/** How many bytes a connection had read when its request's body was last seen to progress, and when. */
interface BodyProgress {
  bytesRead: number;
  since: number;
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
  /** The requests seen still receiving their body (`endStalledBodies`), by connection. */
  private readonly bodies = new Map<Socket, BodyProgress>();

  /**
   * Watches `server`'s connections. Another `upgrade` listener must take the upgrades (the app's
   * WebSocketUpgrades) by the time it listens: with this one alone, Node would hand them to no one.
   */
  constructor(server: Server) {
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => {
        this.sockets.delete(socket);
        this.bodies.delete(socket);
      });
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

  /**
   * Ends every request in flight whose body is still arriving and has made no progress (no byte
   * read on its connection) for `stallMs` by `now` while the server was reading it, counted from
   * the first call that saw it so: its handler has not run (it runs once the body is read), so
   * nothing is lost but a request the client sends again. Answered with `refusal(request)` (a whole raw answer, `connection: close`) when
   * no answer has begun and the socket can take it, then the connection destroyed, as Node does
   * with a request over its timeout; Node checks those no more once the server closes, so one
   * client that sent half a body and went silent held every shutdown for the whole grace period.
   * A request whose body is whole (a handler at work, a long-poll, a stream) is left to finish.
   * Returns how many were ended.
   */
  endStalledBodies(now: number, stallMs: number, refusal: (request: IncomingMessage) => string): number {
    let ended = 0;
    for (const socket of this.sockets) {
      const answer = (socket as HttpSocket)._httpMessage;
      if (!answer || answer.req.complete) {
        this.bodies.delete(socket);
        continue;
      }
      const seen = this.bodies.get(socket);
      // Counted only while the server reads the body: before a hook lets the parser read it (a
      // slow store), or with the request's buffer full, Node stops reading the socket, and the
      // client, sending steadily, would look silent.
      const request = answer.req;
      const serverWaits = request.readableFlowing !== true || request.readableLength >= request.readableHighWaterMark;
      if (!seen || serverWaits || seen.bytesRead !== socket.bytesRead) {
        this.bodies.set(socket, { bytesRead: socket.bytesRead, since: now });
        continue;
      }
      if (now - seen.since < stallMs) continue;
      this.bodies.delete(socket);
      this.sockets.delete(socket);
      if (!answer.headersSent && socket.writable) socket.write(refusal(answer.req));
      socket.destroy();
      ended++;
    }
    return ended;
  }
}
