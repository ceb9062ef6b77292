import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import websocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import FindMyWay from 'find-my-way';
import { API_SECURITY_HEADERS } from './security-headers.js';

/** Largest WebSocket frame accepted (64 KiB); a bigger one closes the connection. */
export const MAX_WEBSOCKET_PAYLOAD = 64 * 1024;

/** The answer to an upgrade no route accepts: pairgate's error shape, then the connection closes. */
const REFUSAL_BODY = JSON.stringify({
  error: 'upgrade_not_accepted',
  message: 'This address does not accept WebSocket connections. Send the request without an Upgrade header.',
});
/** Written on the socket as it is: no route, so no reply; the headers of every machine answer. */
const REFUSAL = [
  'HTTP/1.1 400 Bad Request',
  'connection: close',
  'content-type: application/json; charset=utf-8',
  ...Object.entries(API_SECURITY_HEADERS).map(([name, value]) => `${name}: ${value}`),
  `content-length: ${Buffer.byteLength(REFUSAL_BODY)}`,
  '',
  REFUSAL_BODY,
].join('\r\n');

/**
 * WebSocket upgrades, for the routes that declare `websocket: true` and no other.
 *
 * @fastify/websocket, registered for the whole server, adds an onRequest and an onResponse hook
 * and wraps the handler of every route, so that each plain HTTP request paid for the two routes
 * that take WebSockets (a saving too small for the benchmarks to separate from their noise). Here the plugin lives in the one scope
 * that holds those routes (`acceptIn`), and this class stands between it and the server: an
 * upgrade request reaches the plugin only when it is a GET to a path of such a route; any other is
 * answered 400 at once and its connection closed. (Routed through Fastify instead, it would reach a
 * route without the plugin's wrapper, which would answer over a connection that nothing then closes.)
 */
export class WebSocketUpgrades {
  /** Where the plugin listens for upgrades, instead of the server: only the ones let through. */
  private readonly gate = new EventEmitter();
  /** The paths of the routes that take WebSockets, matched as Fastify's router matches them. */
  private readonly paths = FindMyWay();
  private accepting = false;

  constructor(server: Server) {
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(request, socket, head));
  }

  /**
   * Registers @fastify/websocket in `scope`: its routes with `websocket: true` take WebSocket
   * connections. One scope per server: the plugin runs one WebSocket server for all of them.
   */
  async acceptIn(scope: FastifyInstance): Promise<void> {
    if (this.accepting) throw new Error('WebSockets are already accepted in another scope; declare every WebSocket route in that one.');
    this.accepting = true;
    scope.addHook('onRoute', (route) => {
      // Fastify adds a HEAD route beside each GET one, with the same options: a HEAD is never upgraded.
      if (route.websocket && route.method === 'GET') this.paths.on('GET', route.url, () => undefined);
    });
    await scope.register(websocket, { options: { maxPayload: MAX_WEBSOCKET_PAYLOAD, server: this.gate as never } });
  }

  private upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (request.method === 'GET' && this.paths.find('GET', pathOf(request.url))) {
      this.gate.emit('upgrade', request, socket, head);
      return;
    }
    // Node has removed its own error listener from an upgraded socket: a reset must not throw.
    socket.on('error', () => socket.destroy());
    socket.end(REFUSAL);
  }
}

/** The path of a request target, without its query. */
function pathOf(url = '/'): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
