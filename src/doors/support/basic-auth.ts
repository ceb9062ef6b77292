import type { FastifyReply, FastifyRequest } from 'fastify';
import { UnauthorizedError } from '../../core/errors.js';
import { constantTimeEqual } from '../../core/ids.js';

/** The realm named in WWW-Authenticate. */
export const REALM = 'pairgate support';

/** User and password of a Basic Authorization header, or undefined. */
export function basicCredentials(request: FastifyRequest): { user: string; password: string } | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string' || !/^Basic\s+/i.test(header)) return undefined;
  const decoded = Buffer.from(header.replace(/^Basic\s+/i, ''), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Throws 401 with `WWW-Authenticate: Basic realm="..."`. */
export function challenge(reply: FastifyReply, message = 'Sign in with the supporter credentials (HTTP Basic).'): never {
  reply.header('www-authenticate', `Basic realm="${REALM}", charset="UTF-8"`);
  throw new UnauthorizedError(message, 'unauthorized');
}

/** True when the header carries `user`/`password` (both compared in constant time). */
export function matchesAdmin(given: { user: string; password: string } | undefined, user: string, password: string): boolean {
  if (!given || !user || !password) return false;
  // Both comparisons run, so the time does not tell which one failed.
  const userOk = constantTimeEqual(given.user, user);
  const passwordOk = constantTimeEqual(given.password, password);
  return userOk && passwordOk;
}
