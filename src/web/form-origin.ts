import type { FastifyRequest } from 'fastify';

/**
 * Whether the browser says a form post comes from another origin: Fetch Metadata first
 * (`Sec-Fetch-Site`, sent by current browsers to https and localhost origins), then `Origin`.
 *
 * The CSRF token alone does not tell. It is a double-submit cookie, and a sibling subdomain
 * (evil.example.com next to pairgate.example.com) is the same site: it can set the CSRF cookie for
 * the parent domain with a value of its choosing, post that value in its own form, and its posts
 * carry the SameSite session cookie. The browser's word on where the post comes from
 * (`same-site`, not `same-origin`) is what such a sibling cannot forge.
 *
 * An `Origin: null` says nothing here: pairgate's pages have `Referrer-Policy: no-referrer`, under
 * which a browser sends `Origin: null` with every form post, the page's own included; where Fetch
 * Metadata is not sent (plain http), refusing `null` would refuse every form. Those posts are left
 * to the CSRF token.
 */
export function isForeignFormPost(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  if (typeof site === 'string') return site !== 'same-origin' && site !== 'none';
  const origin = request.headers.origin;
  if (typeof origin !== 'string' || origin === 'null') return false;
  return !URL.canParse(origin) || new URL(origin).host !== request.host;
}
