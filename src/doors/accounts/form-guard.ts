import type { FastifyRequest } from 'fastify';
import type { Pages } from '../../web/pages.js';

/**
 * Whether the browser says a form post comes from another origin. Fetch Metadata first
 * (`Sec-Fetch-Site`, sent by current browsers to https and localhost origins), then `Origin`.
 *
 * Unlike `assertSameOrigin`, an `Origin: null` says nothing here: pairgate's pages have
 * `Referrer-Policy: no-referrer`, under which a browser sends `Origin: null` with every form post,
 * the page's own included; where Fetch Metadata is not sent (plain http), refusing `null` would
 * refuse every form. Those posts are left to the CSRF token.
 */
function foreignForm(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  if (typeof site === 'string') return site !== 'same-origin' && site !== 'none';
  const origin = request.headers.origin;
  if (typeof origin !== 'string' || origin === 'null') return false;
  return !URL.canParse(origin) || new URL(origin).host !== request.host;
}

/**
 * True when a posted form may be trusted to come from one of pairgate's own pages: the browser
 * does not say it comes from another origin, and the form's CSRF token equals the browser's CSRF
 * cookie.
 *
 * The token alone is not enough. It is a double-submit cookie, and a sibling subdomain
 * (evil.example.com next to pairgate.example.com) is the same site: it can set a `pg_csrf` cookie
 * for the parent domain with a value of its choosing, post that value in its own form, and its
 * posts carry the SameSite session cookie. It could then make a signed-in person accept an auth
 * request or approve a device for the attacker, or sign them in to the attacker's account. The
 * browser's word on where the post comes from (`same-site`, not `same-origin`) is what the
 * sibling cannot forge.
 */
export function formFromThisSite(pages: Pages, request: FastifyRequest): boolean {
  if (foreignForm(request)) return false;
  try {
    pages.verifyCsrf(request);
    return true;
  } catch {
    return false;
  }
}
