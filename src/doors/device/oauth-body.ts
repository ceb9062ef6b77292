/**
 * What the OAuth endpoints read (RFC 6749 §3.2 and its extensions send forms; JSON is taken too),
 * for the OpenAPI document: @fastify/swagger lists these as the request body's media types.
 */
export const OAUTH_BODY_TYPES = ['application/x-www-form-urlencoded', 'application/json'];
