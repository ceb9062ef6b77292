import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { DoorContext } from '../door.js';
import type { Announcements } from './announcements.js';
import { PingErrors, PingView } from './schemas.js';

/** CORS headers of /ping: any web app may ask which boxes share its visitor's public IP. */
const OPEN_CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, OPTIONS',
  'access-control-max-age': '600',
  // Helmet's same-site default would stop cross-origin readers in no-cors mode.
  'cross-origin-resource-policy': 'cross-origin',
} as const;

/**
 * `GET /ping`: the boxes announced on the caller's own public network (its IPv4 address, or its
 * IPv6 /64), and nothing about any other (the address is never a parameter). CORS is open.
 */
export function pingRoute(app: FastifyInstance, ctx: DoorContext, announcements: Announcements, perMinute: number): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.get('/ping', {
    schema: { tags: ['registry'], summary: 'Boxes announced behind the caller\'s public IP (CORS open).', response: { 200: PingView, ...PingErrors } },
    config: { rateLimit: { max: perMinute, timeWindow: 60_000 } },
  }, async (request, reply) => {
    reply.headers({ ...OPEN_CORS, 'cache-control': 'no-store', vary: 'x-forwarded-for' });
    return announcements.list(request.ip, ctx.clock.now());
  });
  api.options('/ping', { schema: { hide: true }, config: { rateLimit: { max: perMinute, timeWindow: 60_000 } } }, async (_request, reply) => {
    return reply.code(204).headers({ ...OPEN_CORS, 'access-control-allow-headers': 'content-type' }).send();
  });
}
