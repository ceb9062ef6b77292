import { OAuthError } from './oauth-errors.js';

/**
 * What the OAuth endpoints read (RFC 6749 §3.2 and its extensions send forms; JSON is taken too),
 * for the OpenAPI document: @fastify/swagger lists these as the request body's media types.
 */
export const OAUTH_BODY_TYPES = ['application/x-www-form-urlencoded', 'application/json'];

/**
 * A route's preValidation step: 400 `invalid_request` naming a parameter sent more than once (RFC
 * 6749 §3.1: "Request and response parameters MUST NOT be included more than once"; §5.2 lists
 * "repeats a parameter" under invalid_request). A form repeating a field reaches the route as an
 * array, which the schema would refuse as "body.client_id must be string." without saying why;
 * a repeated field the route does not read (a `client_secret` a confidential-client library adds)
 * is refused too, as the RFC says. No OAuth parameter is ever a list, in a form or in JSON.
 */
export function refuseRepeatedParameters(body: unknown): void {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return;
  for (const [name, value] of Object.entries(body)) {
    if (Array.isArray(value)) throw new OAuthError('invalid_request', `The parameter ${name.slice(0, 50)} is sent more than once: send each parameter once (RFC 6749 §3.1).`);
  }
}
