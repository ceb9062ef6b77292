import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import websocket from '@fastify/websocket';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import FindMyWay from 'find-my-way';
import { InvalidRequestError } from '../core/errors.js';
import { pairgateErrorShape, type ErrorShape } from './error-shapes.js';
import { rawJsonAnswer } from './raw-answer.js';

/** Largest WebSocket frame accepted (64 KiB); a bigger one closes the connection. */
export const MAX_WEBSOCKET_PAYLOAD = 64 * 1024;

/** The refusal of an upgrade no route accepts: 400 `upgrade_not_accepted`. */
export class UpgradeNotAcceptedError extends InvalidRequestError {
  constructor() {
    super('This address does not accept WebSocket connections. Send the request without an Upgrade header.', undefined, 'upgrade_not_accepted');
  }
}

/** The error shape of the door owning a request's path (see PathPrefixShapes), if any. */
export type ShapeOfPath = (url: string) => ErrorShape | undefined;

/**
 * The answer to an upgrade no route accepts, in `shape`, written on the socket as it is (no route,
 * so no reply) with the headers of every machine answer; then the connection closes.
 */
function refusal(shape: ErrorShape): string {
  return rawJsonAnswer(400, shape(new UpgradeNotAcceptedError()));
}

/** Pairgate's own refusal, made once: the answer outside every door's path prefix. */
const PAIRGATE_REFUSAL = refusal(pairgateErrorShape);

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

  /**
   * @param shapeOf the error shape of the door owning a path, so that a refused upgrade under a
   * door's prefix (`/mattermost`, ...) is answered in the format its callers read; pairgate's elsewhere.
   */
  constructor(server: Server, private readonly shapeOf: ShapeOfPath = () => undefined) {
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
    await scope.register(websocket, { options: { maxPayload: MAX_WEBSOCKET_PAYLOAD, server: this.gate as never }, errorHandler: onSocketError });
  }

  private upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (request.method === 'GET' && this.paths.find('GET', pathOf(request.url))) {
      this.gate.emit('upgrade', request, socket, head);
      return;
    }
    // Node has removed its own error listener from an upgraded socket: a reset must not throw.
    socket.on('error', () => socket.destroy());
    const shape = this.shapeOf(request.url ?? '/');
    socket.end(shape ? refusal(shape) : PAIRGATE_REFUSAL);
  }
}

/**
 * What a connection's peer did wrong, as the ws library says it (a frame over MAX_WEBSOCKET_PAYLOAD,
 * bad UTF-8, a broken frame), or its connection dropping: the socket is closed with the matching
 * code either way, and nothing on the server went wrong.
 */
function isPeerError(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  return code.startsWith('WS_ERR_') || code === 'ECONNRESET' || code === 'EPIPE';
}

/**
 * @fastify/websocket's error handler: a peer's error (`isPeerError`) is logged at info, where the
 * plugin's own logged every oversized or malformed frame at error level (anyone holding a socket
 * could fill the log with them); an error of a route's handler is still logged as an error.
 */
function onSocketError(error: Error, socket: { terminate(): void }, request: FastifyRequest): void {
  if (isPeerError(error)) request.log.info({ err: error }, 'websocket closed: the peer sent what it may not, or went away');
  else request.log.error({ err: error }, 'websocket handler failed');
  socket.terminate();
}

/** The path of a request target, without its query. */
function pathOf(url = '/'): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
