import type { FastifyInstance } from 'fastify';
import { UnavailableError } from '../core/errors.js';
import { corsAnswerHeaders } from './error-handler.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route answers while the server shuts down (readiness says so itself). */
    answersWhileShuttingDown?: boolean;
  }
}

/** 503 `shutting_down`: the server is shutting down; the next try reaches another node or the restarted one. */
export function shuttingDownError(): UnavailableError {
  return new UnavailableError('This server is shutting down. Try again in a moment.', 'shutting_down');
}

/**
 * Refuses the requests that arrive once shutting down has begun (on a kept-alive connection, or
 * just before the listener closed): 503 `shutting_down` in the route's wire shape, with
 * Retry-After and the security headers, and `connection: close`, so that the client's next try
 * reaches another node or the restarted one; at a route open to other origins, with its CORS
 * headers (`corsAnswerHeaders`): this hook runs before the route's own, which would have put them
 * there, and a page that cannot read the 503 sees a network error. Requests already in flight are answered (the
 * shutdown signal ends their waits). Fastify's own refusal (`return503OnClosing`) wrote a fixed
 * body of its own, past the error handler and the headers.
 */
export function installShutdownRefusal(app: FastifyInstance, isShuttingDown: () => boolean): void {
  app.addHook('onRequest', (request, reply, done) => {
    if (!isShuttingDown() || request.routeOptions.config?.answersWhileShuttingDown) return done();
    reply.header('connection', 'close').headers(corsAnswerHeaders(request.server, request.method, request.url));
    done(shuttingDownError());
  });
}
