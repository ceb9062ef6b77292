import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Stores } from '../store/ports.js';

const HealthReply = Type.Object({ status: Type.String() }, { description: 'The process is up: `{"status": "ok"}`.' });
const ReadyReply = Type.Object({ status: Type.String(), checks: Type.Record(Type.String(), Type.String()) }, { description: 'Ready: `{"status": "ready", "checks": {"stores": "ok"}}`.' });
const NotReadyReply = Type.Object({ status: Type.String(), checks: Type.Record(Type.String(), Type.String()) }, { description: '`status` is `not_ready` (a store does not answer; `checks` says which and why) or `shutting_down` (the server is stopping: route traffic elsewhere).' });

/** `GET /healthz` (the process runs) and `GET /readyz` (its stores answer). */
export function installHealthRoutes(app: FastifyInstance, stores: Pick<Stores, 'ping'>, isShuttingDown: () => boolean): void {
  app.get('/healthz', {
    schema: { tags: ['health'], summary: 'Liveness: the process is up.', response: { 200: HealthReply } },
    config: { rateLimit: false },
  }, async () => ({ status: 'ok' }));

  app.get('/readyz', {
    schema: { tags: ['health'], summary: 'Readiness: the stores answer and the server is not shutting down.', response: { 200: ReadyReply, 503: NotReadyReply } },
    // Says "shutting_down" itself, in the shape load balancers read.
    config: { rateLimit: false, answersWhileShuttingDown: true },
  }, async (request, reply) => {
    if (isShuttingDown()) return reply.code(503).send({ status: 'shutting_down', checks: {} });
    try {
      await stores.ping();
      return { status: 'ready', checks: { stores: 'ok' } };
    } catch (error) {
      // The stores' words name no address or path (anyone may ask); the log keeps the whole cause.
      request.log.warn({ err: error }, 'readiness: the stores do not answer');
      return reply.code(503).send({ status: 'not_ready', checks: { stores: (error as Error).message || 'unreachable' } });
    }
  });
}
