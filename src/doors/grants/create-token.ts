import type { FastifyReply, FastifyRequest } from 'fastify';
import { UnauthorizedError } from '../../core/errors.js';
import { constantTimeEqual } from '../../core/ids.js';

/**
 * Checks the secret PAIRGATE_GRANTS_CREATE_TOKEN asks of whoever creates a grant, when one is set.
 * A server reachable by anyone otherwise lets a handful of networks hold every live code the
 * brute-force budget allows (each may hold PAIRGATE_GRANTS_MAX_LIVE_PER_IP) and lock creation for
 * everyone for a grant's life. The secret has at least 32 characters (checked at start-up), out of
 * reach of guessing, so wrong ones are not budgeted; they are compared in constant time. The
 * scheme is read without regard to case (RFC 7235 §2.1).
 */
export function requireCreateToken(token: string): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return async (request, reply) => {
    const header = request.headers.authorization;
    const presented = typeof header === 'string' ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)?.[1] : undefined;
    if (presented !== undefined && constantTimeEqual(presented, token)) return;
    reply.header('www-authenticate', presented === undefined ? 'Bearer realm="pairgate-grants"' : 'Bearer realm="pairgate-grants", error="invalid_token"');
    throw new UnauthorizedError(
      presented === undefined
        ? 'Creating grants on this server needs its creation token: send "Authorization: Bearer <token>" with the value of PAIRGATE_GRANTS_CREATE_TOKEN (pairgate grant create sends that variable when it is set).'
        : 'This is not the creation token of this server (PAIRGATE_GRANTS_CREATE_TOKEN).',
      'grants_token_required',
    );
  };
}
