import type { FastifyRequest } from 'fastify';
import { ForbiddenError } from '../../core/errors.js';

/**
 * Refuses a write of the supporter's API (`POST /session`, `POST /session/:id/code`,
 * `DELETE /session/:id`) that a browser says comes from a page of another site, before any
 * credential is looked at. A browser attaches the Basic credentials it keeps for this server to a
 * form another site's page posts here (a form, urlencoded or multipart, needs no CORS preflight),
 * so that page could create a session in the supporter's name with a login of its own choosing,
 * then read it and take its pairing codes with that login; or replace a waiting session's code.
 *
 * The browser's word: Fetch Metadata (`Sec-Fetch-Site` other than `same-origin` or `none`: a
 * sibling subdomain is `same-site`, and may not either), or an `Origin` other than the public URL's
 * (as the session channel's upgrades, `assertSameOriginUpgrade`; `null` too). Programs (curl, the SDK, the CLI)
 * send neither and are let through; reads (GET) change nothing and another site cannot read their
 * answer, so a link from elsewhere still opens them.
 */
export function refuseCrossSiteWrite(request: FastifyRequest, publicUrl: string): void {
  const site = request.headers['sec-fetch-site'];
  const origin = request.headers.origin;
  const foreignSite = typeof site === 'string' && site !== 'same-origin' && site !== 'none';
  const foreignOrigin = origin !== undefined && origin.toLowerCase() !== new URL(publicUrl).origin;
  if (foreignSite || foreignOrigin) {
    throw new ForbiddenError('Requests from pages of another site are refused: a browser would send the supporter credentials it keeps for this server with them.', 'origin_not_allowed');
  }
}
