import type { FastifyReply, FastifyRequest } from 'fastify';
import { UnauthorizedError } from '../../core/errors.js';
import { constantTimeEqual } from '../../core/ids.js';

/** The realm of the introspection endpoints' `WWW-Authenticate` challenge. */
const REALM = 'pairgate-introspection';

/**
 * 401 `introspection_not_configured`: no secret is set, so no caller may introspect. A stable code
 * of its own, so an operator (or a resource server's log) tells "the server is not set up" from
 * "my secret is wrong".
 */
export const INTROSPECTION_NOT_CONFIGURED = 'introspection_not_configured';
/** 401 `introspection_unauthorized`: the secret is set, and the caller did not present it. */
export const INTROSPECTION_UNAUTHORIZED = 'introspection_unauthorized';

/**
 * Lets through only a caller of a token introspection endpoint (RFC 7662) that presents the
 * introspection secret `secret` as `Authorization: Bearer <secret>` (compared in constant time);
 * anyone else gets 401 with a `WWW-Authenticate: Bearer` challenge (RFC 6750 §3: no error code when
 * nothing was presented, `invalid_token` for a wrong or foreign credential).
 *
 * Closed by default: with no secret configured every call is refused, naming `settingKey`. RFC 7662
 * §2.1 requires the endpoint to authorize its callers, since an open one tells anyone holding a
 * token (found in a log, a referrer, a shared screenshot) whose it is, what it opens and until when,
 * and confirms guesses; a start-up warning about the open endpoint was easy to miss.
 */
export function requireIntrospectionSecret(request: FastifyRequest, reply: FastifyReply, secret: string, settingKey: string): void {
  const presented = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1];
  if (secret && presented !== undefined && constantTimeEqual(presented, secret)) return;
  // Any Authorization at all counts as a credential that failed (Basic client credentials included:
  // clients are public here, so a client_id proves nothing about the caller).
  const triedSomething = request.headers.authorization !== undefined;
  reply.header('www-authenticate', triedSomething ? `Bearer realm="${REALM}", error="invalid_token"` : `Bearer realm="${REALM}"`);
  if (!secret) {
    throw new UnauthorizedError(
      `Token introspection is closed: the server's operator must set ${settingKey} and give it to the resource servers, which present it as "Authorization: Bearer <secret>".`,
      INTROSPECTION_NOT_CONFIGURED,
    );
  }
  throw new UnauthorizedError(`Present the introspection secret (${settingKey}) as "Authorization: Bearer <secret>".`, INTROSPECTION_UNAUTHORIZED);
}
