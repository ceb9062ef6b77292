import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AccessEnv } from './access-env.js';
import { CORS_OPEN, openToWebApps, READ_CALL } from './web-app-cors.js';

/** The service info document (Pryv clients start here). */
export const ServiceInfoView = Type.Object(
  {
    name: Type.String(),
    access: Type.String({ description: 'Where auth requests are posted (POST <access>, trailing slash accepted).' }),
    api: Type.String({ description: 'The user API URL, with {username}.' }),
    register: Type.String(),
    home: Type.String(),
    support: Type.String(),
    terms: Type.String(),
    version: Type.String(),
    serial: Type.String(),
  },
  { additionalProperties: true, description: 'The service info document: where auth requests are posted (`access`), the user API URL (`api`), the service\'s name, pages and version.' },
);

/**
 * `GET /service/info` and `GET /<username>/service/info` (the Connection's default service), open
 * to web apps' pages (CORS, `openToWebApps`).
 */
export function installServiceInfoRoute(app: FastifyInstance, env: AccessEnv): void {
  const onRequest = openToWebApps(app, ['/service/info', '/:username/service/info'], READ_CALL);
  const schema = { tags: ['access'], summary: 'The service info document of Pryv clients.', description: CORS_OPEN, response: { 200: ServiceInfoView } };
  app.get('/service/info', { schema, onRequest }, async () => env.serviceInfo());
  app.get('/:username/service/info', { schema: { ...schema, params: Type.Object({ username: Type.String({ maxLength: 60 }) }) }, onRequest }, async () => env.serviceInfo());
}
