import type { FastifyRequest } from 'fastify';
import { ForbiddenError } from '../../core/errors.js';

/**
 * Refuses a WebSocket upgrade started by a page of another site. WebSockets are not bound by CORS:
 * a browser opens one to any host a page names, attaching the Basic credentials it has cached for
 * that host, so without this check any site a supporter visits could open (and read) a session's
 * channel in their name. Browsers always send `Origin` on a WebSocket handshake; agents and the CLI
 * (the `ws` package) send none and are let through, as is this server's own session page, served
 * from its public URL.
 */
export function assertSameOriginUpgrade(request: FastifyRequest, publicUrl: string): void {
  const origin = request.headers.origin;
  if (origin === undefined) return;
  if (origin.toLowerCase() === new URL(publicUrl).origin) return;
  throw new ForbiddenError('WebSocket connections from pages of another site are refused.', 'origin_not_allowed');
}
