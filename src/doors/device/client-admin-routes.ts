import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { DeviceAdminAuth } from './admin-auth.js';
import { adminValidationError } from './client-admin-validation.js';
import { ClientIdSchema, ClientNameSchema, ScopeListSchema } from './client-rules.js';
import type { RegisteredClient } from './client-registry.js';
import type { DeviceEnv } from './device-env.js';
import { ClientAdminErrors } from './device-responses.js';
import { BEARER_SECRET } from '../../server/openapi-security.js';

const tags = ['device'];
const AUTH = 'Needs `Authorization: Bearer <PAIRGATE_DEVICE_ADMIN_TOKEN>` (404 device_admin_disabled while that key is empty).';

/** The fields of a device client as the admin API shows it. */
const ClientFields = {
  client_id: Type.String(),
  name: Type.String(),
  scopes: Type.Union([Type.Array(Type.String()), Type.Null()], { description: 'The scopes it may ask for; null: any scope.' }),
  source: Type.Union([Type.Literal('config'), Type.Literal('api')], { description: 'config: PAIRGATE_DEVICE_CLIENTS (read-only here); api: registered through this API.' }),
  created_at: Type.Optional(Type.String({ description: 'ISO 8601; clients registered through the API only.' })),
  updated_at: Type.Optional(Type.String({ description: 'ISO 8601; clients registered through the API only.' })),
};
const ClientView = Type.Object(ClientFields);

/** A device client answered at one status, described as `description` (the same fields each time). */
function clientView(description: string) {
  return Type.Object(ClientFields, { description });
}

const ClientParams = Type.Object({ clientId: ClientIdSchema });

/** A client's registration: PUT replaces all of it (no `scopes`: any scope). */
const ClientBody = Type.Object({ name: ClientNameSchema, scopes: Type.Optional(ScopeListSchema) }, { additionalProperties: false });

/** The errors every admin operation may answer: the token check's and the rate limit's. */
const AdminErrors = { 401: ClientAdminErrors.unauthorized, 429: ClientAdminErrors.limited };

/** How many admin requests an address may make per minute on each route (the wrong-token budget is apart). */
const ADMIN_REQUESTS_PER_MINUTE = 60;
const rateLimit = { rateLimit: { max: ADMIN_REQUESTS_PER_MINUTE, timeWindow: 60_000 } };

function viewOf(client: RegisteredClient) {
  return {
    client_id: client.id,
    name: client.name,
    scopes: client.scopes === undefined ? null : [...client.scopes],
    source: client.source,
    ...(client.createdAt !== undefined ? { created_at: new Date(client.createdAt).toISOString() } : {}),
    ...(client.updatedAt !== undefined ? { updated_at: new Date(client.updatedAt).toISOString() } : {}),
  };
}

/**
 * The device client admin API, `/api/v1/device/clients`: list, read, create or replace (PUT), and
 * delete the clients that may use the device grant. Clients of PAIRGATE_DEVICE_CLIENTS are listed
 * (source `config`) but changing or deleting one is 409 device_client_in_config. `app` is an
 * encapsulated instance of its own: the token check runs as its onRequest hook, after the
 * server's (the per-route rate limit) and before the body is even read, so a caller without the
 * token learns nothing but that: not which content types are read, nor what a valid body is. Errors are pairgate's `{error, message}`; a refused client_id, name or
 * scope says its rule in words (`client-admin-validation.ts`).
 */
export function installClientAdminRoutes(app: FastifyInstance, env: DeviceEnv, auth: DeviceAdminAuth): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const { ctx, clients, tokens } = env;
  app.addHook('onRequest', (request, reply) => auth.authenticate(request, reply));

  api.get('/api/v1/device/clients', {
    schema: { tags, summary: 'List the device clients, configured and registered through the API.', description: AUTH, security: BEARER_SECRET, response: { 200: Type.Object({ clients: Type.Array(ClientView) }, { description: 'Every device client, configured and registered through the API, by client_id.' }), 404: ClientAdminErrors.disabled404, ...AdminErrors } },
    config: rateLimit,
  }, async () => ({ clients: (await clients.list()).map(viewOf) }));

  api.get('/api/v1/device/clients/:clientId', {
    schema: { tags, summary: 'One device client.', description: AUTH, security: BEARER_SECRET, params: ClientParams, response: { 200: clientView('The client.'), 400: ClientAdminErrors.read400, 404: ClientAdminErrors.client404, ...AdminErrors } },
    config: rateLimit,
    schemaErrorFormatter: adminValidationError,
  }, async (request) => viewOf(await clients.get(request.params.clientId)));

  api.put('/api/v1/device/clients/:clientId', {
    schema: {
      tags,
      summary: 'Register a device client, or replace the name and scopes of one registered through the API (201 created, 200 replaced).',
      security: BEARER_SECRET,
      description: `${AUTH} A client of PAIRGATE_DEVICE_CLIENTS cannot be changed here (409 device_client_in_config). Replacing keeps the client's pending authorizations and tokens; a pending one whose scope the client may no longer ask for gets invalid_scope at the token endpoint.`,
      params: ClientParams,
      body: ClientBody,
      response: { 200: clientView('Replaced: the client as it now is.'), 201: clientView('Registered: the new client.'), 400: ClientAdminErrors.put400, 404: ClientAdminErrors.disabled404, ...AdminErrors, 409: ClientAdminErrors.put409 },
    },
    config: rateLimit,
    schemaErrorFormatter: adminValidationError,
  }, async (request, reply) => {
    const { client, created } = await clients.put(request.params.clientId, request.body, ctx.clock.now());
    request.log.info({ clientId: client.id, created }, 'device client registered');
    return reply.code(created ? 201 : 200).send(viewOf(client));
  });

  api.delete('/api/v1/device/clients/:clientId', {
    schema: {
      tags,
      summary: 'Delete a device client registered through the API: its pending device codes fail with invalid_client (each ended at its device\'s next poll, its waiting place given back) and its access tokens are revoked.',
      security: BEARER_SECRET,
      description: `${AUTH} A client of PAIRGATE_DEVICE_CLIENTS cannot be deleted here (409 device_client_in_config).`,
      params: ClientParams,
      response: { 204: Type.Null({ description: 'Deleted: its access and refresh tokens are revoked, its pending device codes fail.' }), 400: ClientAdminErrors.delete400, 404: ClientAdminErrors.client404, ...AdminErrors, 409: ClientAdminErrors.delete409 },
    },
    config: rateLimit,
    schemaErrorFormatter: adminValidationError,
  }, async (request, reply) => {
    const revoked = await clients.delete(request.params.clientId, tokens);
    request.log.info({ clientId: request.params.clientId, revokedTokens: revoked }, 'device client deleted');
    return reply.code(204).send(null);
  });
}
