import { OAuthError } from './oauth-errors.js';

/**
 * What the OAuth endpoints read (RFC 6749 §3.2 and its extensions send forms; JSON is taken too),
 * for the OpenAPI document: @fastify/swagger lists these as the request body's media types.
 */
export const OAUTH_BODY_TYPES = ['application/x-www-form-urlencoded', 'application/json'];

/**
 * Part of every OAuth route's preValidation step (`readOAuthParameters`): 400 `invalid_request`
 * naming a parameter sent more than once (RFC 6749 §3.1: "Request and response parameters MUST
 * NOT be included more than once"; §5.2 lists
 * "repeats a parameter" under invalid_request). A form repeating a field reaches the route as an
 * array, which the schema would refuse as "body.client_id must be string." without saying why;
 * a repeated field the route does not read (a `client_secret` a confidential-client library adds)
 * is refused too, as the RFC says. No OAuth parameter is ever a list, in a form or in JSON.
 */
function refuseRepeatedParameters(body: object): void {
  for (const [name, value] of Object.entries(body)) {
    if (!Array.isArray(value)) continue;
    // A form such as `=x&=y` repeats a parameter with no name, which "The parameter  is..." did not say.
    const which = name === '' ? 'A parameter with no name (a "=" with nothing before it)' : `The parameter ${name.slice(0, 50)}`;
    throw new OAuthError('invalid_request', `${which} is sent more than once: send each parameter once (RFC 6749 §3.1).`);
  }
}

/**
 * RFC 6749 §3.2 (and §3.1): "Parameters sent without a value MUST be treated as if they were
 * omitted from the request." Removed before the schema reads the body, so that a required one
 * sent empty is missing (400 `invalid_request` naming it): `grant_type=` was answered
 * `unsupported_grant_type`, and `token=` at revocation a 200 as if an unknown token were revoked.
 */
function dropEmptyParameters(body: object): void {
  const fields = body as Record<string, unknown>;
  for (const [name, value] of Object.entries(fields)) if (value === '') delete fields[name];
}

/**
 * Every OAuth endpoint's preValidation step: a parameter sent twice is refused
 * (`refuseRepeatedParameters`, also when one of the two is empty), then those sent empty are
 * taken as omitted (`dropEmptyParameters`).
 */
export function readOAuthParameters(body: unknown): void {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return;
  refuseRepeatedParameters(body);
  dropEmptyParameters(body);
}
