import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Stores } from '../store/ports.js';

const HealthReply = Type.Object({ status: Type.String() }, { description: 'The process is up: `{"status": "ok"}`.' });
const ReadyReply = Type.Object({ status: Type.String(), checks: Type.Record(Type.String(), Type.String()) }, { description: 'Ready: `{"status": "ready", "checks": {"stores": "ok"}}`.' });
const NotReadyReply = Type.Object({ status: Type.String(), checks: Type.Record(Type.String(), Type.String()) }, { description: '`status` is `not_ready` (a store does not answer; `checks` says which and why) or `shutting_down` (the server is stopping: route traffic elsewhere).' });

/** The Retry-After of a 503 from /readyz: the seconds the server's other 503s give. */
const NOT_READY_RETRY_SECONDS = '5';

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
    // When to ask again, as every other 503 says (and the OpenAPI document says of this one).
    if (isShuttingDown()) return reply.code(503).header('retry-after', NOT_READY_RETRY_SECONDS).send({ status: 'shutting_down', checks: {} });
    try {
      await stores.ping();
      return { status: 'ready', checks: { stores: 'ok' } };
    } catch (error) {
      // The stores' words name no address or path (anyone may ask); the log keeps the whole cause.
      request.log.warn({ err: error }, 'readiness: the stores do not answer');
      return reply.code(503).header('retry-after', NOT_READY_RETRY_SECONDS).send({ status: 'not_ready', checks: { stores: (error as Error).message || 'unreachable' } });
    }
  });
}
