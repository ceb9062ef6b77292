import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_SECURITY_HEADERS } from '../../src/server/security-headers.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

/**
 * What no route answers under /api (an unknown address, a method the address does not take, a
 * malformed %-escape) is the API's: JSON in pairgate's shape with the machine headers, to a browser
 * too, as every answer of its routes is. It had the page headers, and a browser got the 404 page.
 */
describe('unrouted answers under /api are the API\'s', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const cases = [
    { method: 'GET', url: '/api/v1/nothing-here', status: 404, error: 'route_not_found' },
    { method: 'DELETE', url: '/api/v1/grants', status: 405, error: 'method_not_allowed' },
    { method: 'GET', url: '/api/v1/grants/%E0%A4%A', status: 400, error: 'bad_url' },
    { method: 'GET', url: '/api', status: 404, error: 'route_not_found' },
  ] as const;

  for (const { method, url, status, error } of cases) {
    it(`${method} ${url}: ${status} ${error} in JSON with the machine headers, to a browser as to a program`, async () => {
      for (const accept of ['application/json', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8']) {
        const answer = await t.app.inject({ method, url, headers: { accept } });
        expect(answer.statusCode, accept).toBe(status);
        expect(answer.headers['content-type'], accept).toBe('application/json; charset=utf-8');
        expect(answer.json(), accept).toMatchObject({ error });
        for (const [name, value] of Object.entries(API_SECURITY_HEADERS)) expect(answer.headers[name], `${accept}: ${name}`).toBe(value);
      }
    });
  }

  it('outside /api a browser still gets the 404 page', async () => {
    const answer = await t.app.inject({ method: 'GET', url: '/nothing-here', headers: { accept: 'text/html' } });
    expect(answer.statusCode).toBe(404);
    expect(answer.headers['content-type']).toBe('text/html; charset=utf-8');
  });
});
