import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

const CSS = readFileSync(new URL('../../src/web/static/pairgate.css', import.meta.url), 'utf8');

/** /static/<name> serves the pages' own files, from a list read at start-up, and nothing else. */
describe('static files of the pages', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('serves a listed file with its type and an hour of caching', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/static/pairgate.css' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/css/);
    expect(response.headers['cache-control']).toBe('public, max-age=3600');
    expect(response.body).toBe(CSS);
  });

  it('an unknown file is a 404 with a machine code and a sentence, like every other unknown address', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/static/nope.css' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ error: 'static_file_not_found', message: expect.stringMatching(/no such file.*Check the link/) });
  });

  it('a path that climbs out of the folder finds nothing (the list is fixed, not a folder read per request)', async () => {
    for (const url of ['/static/..%2f..%2fpackage.json', '/static/..%2Fpages.ts', '/static/%2e%2e%2fstatic%2fpairgate.css']) {
      const response = await t.app.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBe(404);
      expect(response.json().error, url).toBe('static_file_not_found');
    }
  });
});
