import { describe, expect, it } from 'vitest';
import { useListeningApp } from '../helpers/app.js';

/**
 * No refusal may be stored by a cache. 404, 405 and 414 are cacheable by default (RFC 9111 4.2.2:
 * a shared cache such as Varnish keeps them for minutes without a Cache-Control), and what no route
 * answers is JSON for a program and a page for a browser, chosen by Accept without a Vary: stored,
 * one client's answer would be the next one's. Checked over real sockets, as a cache sees them.
 */
describe('error answers are never stored (Cache-Control: no-store)', () => {
  const server = useListeningApp();

  const cases: { what: string; method: string; path: string; status: number; code: string }[] = [
    { what: 'an unknown address', method: 'GET', path: '/no/such/thing', status: 404, code: 'route_not_found' },
    { what: 'an unknown address under /api/', method: 'GET', path: '/api/v1/nope', status: 404, code: 'route_not_found' },
    { what: 'a wrong method on a served path', method: 'PUT', path: '/api/v1/grants', status: 405, code: 'method_not_allowed' },
    { what: 'a wrong method on a page', method: 'DELETE', path: '/account/signin', status: 405, code: 'method_not_allowed' },
    { what: 'a path parameter too long for the router', method: 'GET', path: `/api/v1/codes/${'a'.repeat(300)}`, status: 414, code: 'uri_too_long' },
    { what: 'a malformed %-escape', method: 'GET', path: '/api/v1/codes/%zz', status: 400, code: 'bad_url' },
    { what: 'an unknown static file', method: 'GET', path: '/static/nope.css', status: 404, code: 'static_file_not_found' },
  ];

  for (const { what, method, path, status, code } of cases) {
    it(`${what}: ${status} ${code}, no-store`, async () => {
      const response = await fetch(`${server.base}${path}`, { method });
      expect(response.status).toBe(status);
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(((await response.json()) as { error: string }).error).toBe(code);
    });
  }

  it('a page route\'s JSON refusal (a sign-in form with no fields, for a program) is no-store too', async () => {
    const response = await fetch(`${server.base}/account/signin`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(response.status).toBe(400);
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('the browser\'s variant of the same 404 stays no-store (the error page)', async () => {
    const response = await fetch(`${server.base}/no/such/thing`, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-store');
  });
});
