import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { DEVICE_GRANT_TYPE } from './device-grant.js';
import type { DeviceEnv } from './device-env.js';
import { REFRESH_GRANT_TYPE } from './refresh-grant.js';

/** The RFC 8414 metadata document (the fields this server has; others may be added). */
const MetadataView = Type.Object(
  {
    issuer: Type.String(),
    device_authorization_endpoint: Type.String(),
    token_endpoint: Type.String(),
    introspection_endpoint: Type.String(),
    revocation_endpoint: Type.String(),
    grant_types_supported: Type.Array(Type.String()),
    response_types_supported: Type.Array(Type.String()),
    token_endpoint_auth_methods_supported: Type.Array(Type.String()),
    introspection_endpoint_auth_methods_supported: Type.Array(Type.String()),
    revocation_endpoint_auth_methods_supported: Type.Array(Type.String()),
    scopes_supported: Type.Optional(Type.Array(Type.String())),
    service_documentation: Type.String(),
  },
  { additionalProperties: true, description: 'The metadata (RFC 8414): the issuer, the endpoints, the grant types and authentication methods supported, and `scopes_supported` once a client is registered with scopes.' },
);

/**
 * `GET /.well-known/oauth-authorization-server` (RFC 8414): where a stock OAuth client finds the
 * device door's endpoints. The issuer is the public URL, which clients compare with the URL they
 * fetched the document from. Public facts only, so any site may read it (CORS `*`).
 */
export function installMetadataRoute(app: FastifyInstance, env: DeviceEnv): void {
  app.get('/.well-known/oauth-authorization-server', {
    schema: { tags: ['device'], summary: 'OAuth 2.0 authorization server metadata (RFC 8414).', response: { 200: MetadataView } },
  }, async (_request, reply) => {
    const base = env.ctx.publicUrl();
    // Read each time: clients registered through the admin API on any node count at once.
    const scopes = await env.clients.scopesSupported();
    reply.header('access-control-allow-origin', '*').header('cache-control', 'public, max-age=300');
    return {
      issuer: base,
      device_authorization_endpoint: `${base}/oauth/device_authorization`,
      token_endpoint: `${base}/oauth/token`,
      introspection_endpoint: `${base}/oauth/introspect`,
      revocation_endpoint: `${base}/oauth/revoke`,
      grant_types_supported: env.cfg.PAIRGATE_DEVICE_REFRESH_TOKEN_TTL_SECONDS > 0 ? [DEVICE_GRANT_TYPE, REFRESH_GRANT_TYPE] : [DEVICE_GRANT_TYPE],
      // The device grant uses no authorization endpoint; RFC 8414 still requires the member.
      response_types_supported: [],
      token_endpoint_auth_methods_supported: ['none'],
      // Introspection takes the secret as a Bearer token, and no one while it is unset (closed).
      introspection_endpoint_auth_methods_supported: env.cfg.PAIRGATE_DEVICE_INTROSPECTION_SECRET ? ['bearer'] : [],
      revocation_endpoint_auth_methods_supported: ['none'],
      ...(scopes.length ? { scopes_supported: scopes } : {}),
      service_documentation: `${base}/docs`,
    };
  });
}
