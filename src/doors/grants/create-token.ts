import type { FastifyReply, FastifyRequest } from 'fastify';
import { checkBearerSecret, type BearerRefusal } from '../../server/bearer-secret.js';

const CREATE_TOKEN_REFUSAL: BearerRefusal = {
  realm: 'pairgate-grants',
  code: 'grants_token_required',
  missing: 'Creating grants on this server needs its creation token: send "Authorization: Bearer <token>" with the value of PAIRGATE_GRANTS_CREATE_TOKEN (pairgate grant create sends that variable when it is set).',
  wrong: 'This is not the creation token of this server (PAIRGATE_GRANTS_CREATE_TOKEN).',
};

/**
 * Checks the secret PAIRGATE_GRANTS_CREATE_TOKEN asks of whoever creates a grant, when one is set
 * (`checkBearerSecret`). A server reachable by anyone otherwise lets a handful of networks hold
 * every live code the brute-force budget allows (each may hold PAIRGATE_GRANTS_MAX_LIVE_PER_IP) and
 * lock creation for everyone for a grant's life.
 */
export function requireCreateToken(token: string): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return async (request, reply) => checkBearerSecret(request.headers.authorization, reply, token, CREATE_TOKEN_REFUSAL);
}
