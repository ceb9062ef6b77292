import type { FastifyReply, FastifyRequest } from 'fastify';
import { OAuthError } from './oauth-errors.js';

/** Whether the request names its client with HTTP Basic. */
function usesBasic(request: FastifyRequest): boolean {
  const header = request.headers.authorization;
  return typeof header === 'string' && /^Basic(\s|$)/i.test(header.trim());
}

/** Whether the request came with an Authorization header of any scheme. */
function sentAuthorization(request: FastifyRequest): boolean {
  return request.headers.authorization !== undefined;
}

/**
 * A route's onSend hook: a 401 to a client that came with an Authorization header carries a Basic
 * challenge, as RFC 6749 §5.2 requires ("MUST ... include the WWW-Authenticate response header
 * field matching the authentication scheme used by the client"); stock clients read it to tell bad
 * credentials apart. A client that came with another scheme (`Bearer`, say) is challenged with
 * Basic, the only scheme these endpoints take: a 401 without any challenge breaks HTTP (RFC 9110
 * §15.5.2) and tells the client nothing of how to authenticate. A client named in the form alone
 * used no scheme and gets none.
 */
export function basicChallenge(request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (error: null, payload: unknown) => void): void {
  if (reply.statusCode === 401 && sentAuthorization(request) && !reply.hasHeader('www-authenticate')) reply.header('www-authenticate', 'Basic realm="pairgate", charset="UTF-8"');
  done(null, payload);
}

/** The scheme of an Authorization header that is not Basic, in words; named only when it is a plain token. */
function otherSchemeSaid(header: string): string {
  const scheme = /^\s*([A-Za-z][A-Za-z0-9._~+-]{0,29})(\s|$)/.exec(header)?.[1];
  return scheme ? `The Authorization header uses the ${scheme} scheme, which these endpoints do not take` : 'The Authorization header names no scheme';
}

/**
 * The form parameters a confidential client authenticates with instead of HTTP Basic: a secret
 * (`client_secret_post`, RFC 6749 §2.3.1) or a signed assertion (`private_key_jwt` and
 * `client_secret_jwt`, RFC 7523 §2.2). Sent empty, a parameter is taken as omitted beforehand
 * (`readOAuthParameters`), so a library that always sends `client_secret=` is not concerned.
 */
const CLIENT_CREDENTIAL_PARAMETERS = ['client_secret', 'client_assertion', 'client_assertion_type'] as const;

/** The first client credential parameter the body carries, if any. */
function credentialParameterOf(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return undefined;
  return CLIENT_CREDENTIAL_PARAMETERS.find((name) => Object.hasOwn(body, name) && (body as Record<string, unknown>)[name] !== undefined);
}

/**
 * The client_id of a request from a public client: the form's `client_id` (RFC 6749 §2.3.1,
 * `none` authentication), or the user part of HTTP Basic with an empty password, for clients
 * configured that way. Both present and different is a 400; none is a 401 `invalid_client`, and so
 * is a Basic header that is not well-formed, or one with a password: these clients have no secret,
 * and a client sending one believes it authenticates with it (the metadata lists `none` only), so
 * it is told rather than let through on its id alone. The same holds for a secret or an assertion
 * in the form: it was passed over, so a client refused with its secret in Basic was let through
 * as soon as it sent the secret in the form instead, which Go's golang.org/x/oauth2 does on its
 * own after any error (AuthStyleAutoDetect, its default), and its developer never learnt. An
 * Authorization header of any other scheme (`Bearer`, or none at all) is a 401 `invalid_client`
 * too, whatever the form says: Basic with an empty password is the only one these endpoints take.
 */
export function clientIdOf(request: FastifyRequest, fromBody: string | undefined): string {
  const credential = credentialParameterOf(request.body);
  if (credential) throw new OAuthError('invalid_client', `This server's clients are public and have no secret (token_endpoint_auth_method none): send the client_id alone, without ${credential}.`, 401);
  let fromBasic: string | undefined;
  const header = request.headers.authorization;
  // Another scheme (a Bearer token, say) was passed over, the form's client_id then deciding: the
  // client believed its header authenticated it, and went on sending it unchecked.
  if (header !== undefined && !usesBasic(request)) throw new OAuthError('invalid_client', `${otherSchemeSaid(header)}: send the client_id alone, in the form or as HTTP Basic with an empty password, and no other Authorization header.`, 401);
  const basic = typeof header === 'string' ? /^Basic\s+([A-Za-z0-9+/=]{1,1000})$/i.exec(header.trim()) : null;
  // A Basic header that is not base64 was once passed over, the body's client_id then deciding:
  // the client meant to authenticate with it (RFC 6749 §2.3.1) and is told it failed.
  if (!basic && usesBasic(request)) throw new OAuthError('invalid_client', 'The Basic credentials are not well-formed: send base64 of the URL-encoded client_id, a colon and the (here empty) password.', 401);
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    // user-pass is the user id, a colon and the password (RFC 7617 §2), an empty one here.
    if (colon < 0) throw new OAuthError('invalid_client', 'The Basic credentials have no colon: send base64 of the URL-encoded client_id followed by a colon (the password, empty here, comes after it).', 401);
    try {
      fromBasic = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
    } catch {
      throw new OAuthError('invalid_client', 'The Basic credentials are not well-formed.', 401);
    }
    if (colon >= 0 && colon < decoded.length - 1) {
      throw new OAuthError('invalid_client', 'This server\'s clients are public and have no secret (token_endpoint_auth_method none): send the client_id alone, in the form or with an empty Basic password.', 401);
    }
  }
  if (fromBody && fromBasic && fromBody !== fromBasic) throw new OAuthError('invalid_request', 'client_id in the body and in the Authorization header differ.');
  const clientId = fromBody || fromBasic;
  if (!clientId) throw new OAuthError('invalid_client', 'client_id is required (this server has public clients: send it in the form).', 401);
  return clientId;
}
