import type { FastifyReply } from 'fastify';

/**
 * The server's strict CSP with one origin added to `form-action`: Chromium checks form-action on
 * every redirect that follows a form submission, so a page whose form ends in a redirect to the
 * app's returnURL must name that origin. Everything else stays as strict as on every page.
 */
export function allowFormTarget(reply: FastifyReply, returnURL: string | null): void {
  let extra = '';
  if (returnURL) {
    try {
      extra = ` ${new URL(returnURL).origin}`;
    } catch {
      extra = '';
    }
  }
  reply.header(
    'content-security-policy',
    `default-src 'self';script-src 'self';style-src 'self';img-src 'self' data: https:;connect-src 'self';font-src 'self';object-src 'none';base-uri 'none';form-action 'self'${extra};frame-ancestors 'none'`,
  );
}
