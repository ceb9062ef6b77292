import { describe, expect, it } from 'vitest';
import { useListeningApp } from '../helpers/app.js';
import { DEVICE_ENV } from '../doors/device/device-helpers.js';

interface Operation {
  requestBody?: { content: Record<string, unknown> };
  responses: Record<string, { description: string; content?: Record<string, { schema?: unknown }>; properties?: Record<string, unknown> }>;
}
interface Document {
  info: { description: string };
  paths: Record<string, Record<string, Operation>>;
  components: { responses?: Record<string, { description: string; headers?: Record<string, unknown> }> };
}

/** The answers the server gives besides each route's own, as the served document (/docs/json) lists them. */
describe('the OpenAPI document lists the shared answers the server gives', () => {
  const server = useListeningApp(DEVICE_ENV);
  const served = async (): Promise<Document> => (await (await fetch(`${server.base}/docs/json`)).json()) as Document;

  it('408 request_timeout and 431 headers_too_large on every operation, in pairgate\'s shape even on a door with its own', async () => {
    const doc = await served();
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        expect(operation.responses['408']?.description, `${method} ${path}`).toContain('`request_timeout`');
        expect(operation.responses['431']?.description, `${method} ${path}`).toContain('`headers_too_large`');
      }
    }
    // The OAuth token call answers its own errors in OAuth's shape; these come before any route.
    expect(JSON.stringify(doc.paths['/oauth/token']!.post!.responses['408'])).toContain('"message"');
  });

  it('503 shutting_down on the routes outside the rate limit (/healthz), but not /readyz\'s own', async () => {
    const doc = await served();
    expect(doc.paths['/healthz']!.get!.responses['503']!.description).toContain('`shutting_down`');
    // Its own 503 says `shutting_down` in its body's `status`: nothing is added to it.
    expect(doc.paths['/readyz']!.get!.responses['503']!.description).not.toContain('the next try reaches another node');
  });

  it('503 password_hashing_busy and password_hashing_network_busy on every sign-in form, whichever door serves it', async () => {
    const doc = await served();
    for (const path of ['/account/signin', '/access/auth/signin', '/device/signin']) {
      const busy = doc.paths[path]!.post!.responses['503']?.description;
      expect(busy, path).toContain('`password_hashing_busy`');
      expect(busy, path).toContain('`password_hashing_network_busy`');
    }
  });

  it('405 method_not_allowed with Allow, in components.responses, named in the description', async () => {
    const doc = await served();
    const notAllowed = doc.components.responses?.MethodNotAllowed;
    expect(notAllowed?.description).toContain('`method_not_allowed`');
    expect(notAllowed?.headers).toHaveProperty('allow');
    expect(doc.info.description).toContain('components.responses.MethodNotAllowed');
    expect(doc.info.description).toContain('`missing_host`');
  });

  it('a body the form parser reads is listed as a form beside JSON; JSON-only calls stay JSON', async () => {
    const doc = await served();
    for (const path of ['/api/v1/grants', '/api/v1/codes/{code}/approve', '/api/v1/codes/{code}/refuse', '/account/signin']) {
      expect(Object.keys(doc.paths[path]!.post!.requestBody!.content), path).toEqual(['application/json', 'application/x-www-form-urlencoded']);
    }
    // The install door's calls take JSON only (acceptJsonOnly).
    expect(Object.keys(doc.paths['/webhook/{id}/command']!.post!.requestBody!.content)).toEqual(['application/json']);
    // And it is so: a form creates a grant.
    const created = await fetch(`${server.base}/api/v1/grants`, { method: 'POST', body: new URLSearchParams({ label: 'hello', ttl: '20' }) });
    expect(created.status).toBe(201);
  });

  it('415 names unsupported_charset', async () => {
    const doc = await served();
    expect(doc.paths['/api/v1/grants']!.post!.responses['415']!.description).toContain('`unsupported_charset`');
  });
});
