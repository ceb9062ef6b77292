import type { FastifyRequest } from 'fastify';
import { ForbiddenError } from '../../core/errors.js';

/** What a write refused as coming from another site's page answers: its machine code and why. */
export interface CrossSiteRefusal {
  code: string;
  message: string;
}

/** The supporter API's refusal (the origin's writes that take Basic credentials). */
const SUPPORTER_CREDENTIALS: CrossSiteRefusal = {
  code: 'origin_not_allowed',
  message: 'Requests from pages of another site are refused: a browser would send the supporter credentials it keeps for this server with them.',
};

/**
 * The relay's publish route: origins publish with a program, never from a page. A page of another
 * site posting a form here made each of its visitors publish a code from the visitor's own address,
 * spending the per-address caps of people who never meant to (`origin_not_allowed` already names a
 * URL the relay refuses, so this has a code of its own).
 */
export const RELAY_PUBLISH: CrossSiteRefusal = {
  code: 'cross_site_request',
  message: 'Codes are published by programs (a supporter\'s pairgate server), not from a page of another site: this request came from one, and was refused.',
};

/**
 * Refuses a write that a browser says comes from a page of another site, before any credential is
 * looked at (`refusal` says what it answers; by default the supporter API's: `POST /session`,
 * `POST /session/:id/code`, `DELETE /session/:id`). A browser attaches the Basic credentials it
 * keeps for this server to a form another site's page posts here (a form, urlencoded or multipart, needs no CORS preflight),
 * so that page could create a session in the supporter's name with a login of its own choosing,
 * then read it and take its pairing codes with that login; or replace a waiting session's code.
 *
 * The browser's word: Fetch Metadata (`Sec-Fetch-Site` other than `same-origin` or `none`: a
 * sibling subdomain is `same-site`, and may not either), or an `Origin` other than the public URL's
 * (as the session channel's upgrades, `assertSameOriginUpgrade`; `null` too). Programs (curl, the SDK, the CLI)
 * send neither and are let through; reads (GET) change nothing and another site cannot read their
 * answer, so a link from elsewhere still opens them.
 */
export function refuseCrossSiteWrite(request: FastifyRequest, publicUrl: string, refusal: CrossSiteRefusal = SUPPORTER_CREDENTIALS): void {
  const site = request.headers['sec-fetch-site'];
  const origin = request.headers.origin;
  const foreignSite = typeof site === 'string' && site !== 'same-origin' && site !== 'none';
  const foreignOrigin = origin !== undefined && origin.toLowerCase() !== new URL(publicUrl).origin;
  if (foreignSite || foreignOrigin) {
    throw new ForbiddenError(refusal.message, refusal.code);
  }
}
