import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { claimPathPrefix, installErrorHandlers, PathPrefixShapes, sendFrameworkError } from '../../src/server/error-handler.js';
import type { ErrorShape } from '../../src/server/error-shapes.js';

const chatShape: ErrorShape = (error) => ({ type: 'error', text: error.message, data: { error: error.code } });
const hookShape: ErrorShape = (error) => ({ ok: false, error: error.code, text: error.message });

/** A server wired as buildApp wires its error handling, with one route under each claimed prefix. */
async function serverWithPrefixes(): Promise<FastifyInstance> {
  const app = Fastify({ frameworkErrors: sendFrameworkError });
  installErrorHandlers(app);
  await app.register(async (scope) => {
    claimPathPrefix(scope, '/chat', chatShape);
    claimPathPrefix(scope, '/chat/hooks', hookShape);
    scope.get('/chat/:id/call', async () => ({ ok: true }));
    scope.get('/chat/hooks/:id', async () => ({ ok: true }));
  });
  app.get('/api/:id', async () => ({ ok: true }));
  return app;
}

describe('path prefixes claimed by doors: the answers no route gives, in the owner\'s shape', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => app?.close());

  it('a malformed %-escape, a path parameter too long and an unknown path under a prefix use its shape, the longest prefix winning', async () => {
    app = await serverWithPrefixes();
    const bad = await app.inject('/chat/%E0%A4%A/call');
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({ type: 'error', text: 'This address has a malformed %-escape. Check the link.', data: { error: 'bad_url' } });
    const long = await app.inject(`/chat/${'a'.repeat(150)}/call`);
    expect(long.statusCode).toBe(414);
    expect(long.json()).toEqual({ type: 'error', text: expect.any(String), data: { error: 'uri_too_long' } });
    // An unknown path: the door's shape whatever the browser asks for, with the machine headers.
    const missing = await app.inject({ url: '/chat/x/nope?secret=1', headers: { accept: 'text/html' } });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ type: 'error', text: 'There is nothing at GET /chat/x/nope.', data: { error: 'route_not_found' } });
    expect(missing.headers['cache-control']).toBe('no-store');
    expect((await app.inject('/chat')).json().data.error).toBe('route_not_found');
    const nested = await app.inject('/chat/hooks/%E0%A4%A');
    expect(nested.statusCode).toBe(400);
    expect(nested.json()).toEqual({ ok: false, error: 'bad_url', text: expect.any(String) });
  });

  it('outside every prefix, and on a path that only starts with its letters, pairgate\'s shape and the page for a browser stay', async () => {
    app = await serverWithPrefixes();
    for (const url of ['/api/%E0%A4%A', '/chatty/%E0%A4%A', '/x/chat/%E0%A4%A', '/chat%2F%E0%A4%A']) {
      const answer = await app.inject(url);
      expect(answer.statusCode, url).toBe(400);
      expect(answer.json(), url).toEqual({ error: 'bad_url', message: expect.any(String) });
    }
    expect((await app.inject(`/api/${'a'.repeat(150)}`)).json()).toEqual({ error: 'uri_too_long', message: expect.any(String) });
    const page = await app.inject({ url: '/chatty', headers: { accept: 'text/html' } });
    expect(page.statusCode).toBe(404);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
  });

  it('a prefix is claimed once, and must look like a path', () => {
    const shapes = new PathPrefixShapes();
    shapes.claim('/chat', chatShape);
    expect(() => shapes.claim('/chat', hookShape)).toThrow('/chat already has an error shape');
    for (const prefix of ['chat', '/chat/', '/', '/a?b', '/%63hat']) expect(() => shapes.claim(prefix, chatShape), prefix).toThrow('must look like');
    // Escapes of unreserved characters are read as the router reads them; the others are not.
    expect(shapes.shapeOf('/%63hat/x')).toBe(chatShape);
    expect(shapes.shapeOf('/chat%2Fx')).toBeUndefined();
  });

  it('claiming needs the server\'s error handlers', () => {
    expect(() => claimPathPrefix(Fastify(), '/chat', chatShape)).toThrow('installErrorHandlers');
  });
});
