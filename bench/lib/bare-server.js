// The baseline of every benchmark: a bare Fastify server answering the same shapes of request
// (JSON in, small JSON out) with no validation, storage, security headers or rate limits.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.post('/*', async (request) => ({ ok: true, echo: request.body ?? null }));
app.get('/*', async () => ({ ok: true }));
await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`bare listening on http://127.0.0.1:${app.server.address().port}\n`);
process.once('SIGTERM', () => app.close().then(() => process.exit(0)));
