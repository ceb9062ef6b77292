import type { FastifyRequest } from 'fastify';
import type { Pages } from '../../web/pages.js';

/**
 * True when a posted form may be trusted to come from one of pairgate's own pages (see
 * `Pages.verifyCsrf`: the browser does not say it comes from another origin, and the CSRF token
 * matches), for the routes that answer a failed check with a page of their own rather than a 403.
 */
export function formFromThisSite(pages: Pages, request: FastifyRequest): boolean {
  try {
    pages.verifyCsrf(request);
    return true;
  } catch {
    return false;
  }
}
