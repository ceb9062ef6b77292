import type { FastifyReply } from 'fastify';
import { securityHeaders } from '../../server/security-headers.js';

/** The server's own policy, as helmet writes it for every page. */
let basePolicy: string | undefined;

/**
 * The CSP source that lets a form's redirect reach `url`'s origin: the origin itself, except for an
 * IPv6 address (`http://[::1]:3000`, which `checkReturnUrl` takes), which CSP's host grammar cannot
 * name: Chromium ignores such a source (logging an error) and then blocked the redirect to the app,
 * leaving the person who had just accepted on the consent page. For those, the scheme and port on
 * any host (`http://*:3000`), the narrowest source browsers read that still matches it.
 */
export function formTargetSource(url: URL): string {
  if (!url.hostname.startsWith('[')) return url.origin;
  return `${url.protocol}//*${url.port ? `:${url.port}` : ''}`;
}

/**
 * The server's strict CSP with one origin added to `form-action`: Chromium checks form-action on
 * every redirect that follows a form submission, so a page whose form ends in a redirect to the
 * app's returnURL must name that origin (`formTargetSource`). Everything else stays exactly as on
 * every page.
 */
export function allowFormTarget(reply: FastifyReply, returnURL: string | null): void {
  if (!returnURL) return;
  let source: string;
  try {
    source = formTargetSource(new URL(returnURL));
  } catch {
    return;
  }
  basePolicy ??= securityHeaders()['content-security-policy'] ?? '';
  if (!basePolicy.includes("form-action 'self'")) throw new Error("the server's CSP has no form-action 'self' to extend");
  reply.header('content-security-policy', basePolicy.replace("form-action 'self'", `form-action 'self' ${source}`));
}
