import type { FastifyReply } from 'fastify';
import { securityHeaders } from '../../server/security-headers.js';

/** The server's own policy, as helmet writes it for every page. */
let basePolicy: string | undefined;

/**
 * The server's strict CSP with one origin added to `form-action`: Chromium checks form-action on
 * every redirect that follows a form submission, so a page whose form ends in a redirect to the
 * app's returnURL must name that origin. Everything else stays exactly as on every page.
 */
export function allowFormTarget(reply: FastifyReply, returnURL: string | null): void {
  if (!returnURL) return;
  let origin: string;
  try {
    origin = new URL(returnURL).origin;
  } catch {
    return;
  }
  basePolicy ??= securityHeaders()['content-security-policy'] ?? '';
  if (!basePolicy.includes("form-action 'self'")) throw new Error("the server's CSP has no form-action 'self' to extend");
  reply.header('content-security-policy', basePolicy.replace("form-action 'self'", `form-action 'self' ${origin}`));
}
