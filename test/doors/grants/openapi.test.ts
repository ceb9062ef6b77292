import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.js';

/**
 * The OpenAPI document describes the generic grant API's refusals truthfully: each error status
 * of each route names the machine codes it carries (not swagger's "Default Response"), and the
 * codes it names are the ones the server answers.
 */
describe('generic grant API in the OpenAPI document', () => {
  let t: TestApp;
  let doc: any;
  beforeAll(async () => {
    t = await createTestApp();
    doc = (await t.app.inject('/docs/json')).json();
  });
  afterAll(() => t.close());

  const operation = (path: string, method: string) => doc.paths[path][method];
  const description = (path: string, method: string, status: string): string => operation(path, method).responses[status].description;

  it('describes every error status of every grant route, none as "Default Response"', () => {
    const routes: [string, string][] = [
      ['/api/v1/grants', 'post'],
      ['/api/v1/grants/{id}', 'get'],
      ['/api/v1/grants/{id}/events', 'get'],
      ['/api/v1/grants/{id}/redeem', 'post'],
      ['/api/v1/codes/{code}', 'get'],
      ['/api/v1/codes/{code}/approve', 'post'],
      ['/api/v1/codes/{code}/refuse', 'post'],
    ];
    for (const [path, method] of routes) {
      for (const [status, response] of Object.entries<any>(operation(path, method).responses)) {
        if (status.startsWith('2')) continue;
        expect(response.description, `${method} ${path} ${status}`).not.toBe('Default Response');
        expect(response.description, `${method} ${path} ${status}`).toMatch(/`[a-z_]+`/);
      }
    }
    expect(description('/api/v1/grants/{id}/redeem', 'post', '409')).toContain('`grant_pending`');
    expect(description('/api/v1/codes/{code}', 'get', '400')).toContain('`code_check_failed`');
    expect(description('/api/v1/codes/{code}', 'get', '400')).toContain('`validation_failed`');
    expect(description('/api/v1/grants', 'post', '429')).toContain('`too_many_live_grants`');
  });

  it('names the codes the server really answers', async () => {
    const created = (await t.app.inject({ method: 'POST', url: '/api/v1/grants', payload: { label: 'x' } })).json();
    const early = await t.app.inject({ method: 'POST', url: `/api/v1/grants/${created.id}/redeem`, payload: { secret: created.secret } });
    expect(early.statusCode).toBe(409);
    expect(description('/api/v1/grants/{id}/redeem', 'post', '409')).toContain(`\`${early.json().error}\``);
    const typo = await t.app.inject(`/api/v1/codes/${created.code.slice(0, -1)}${created.code.endsWith('a') ? 'b' : 'a'}`);
    expect(typo.statusCode).toBe(400);
    expect(description('/api/v1/codes/{code}', 'get', '400')).toContain(`\`${typo.json().error}\``);
    const badWait = await t.app.inject(`/api/v1/grants/${created.id}?wait=Infinity`);
    expect(badWait.statusCode).toBe(400);
    expect(description('/api/v1/grants/{id}', 'get', '400')).toContain(`\`${badWait.json().error}\``);
    const gone = await t.app.inject('/api/v1/grants/0123456789abcdef');
    expect(gone.statusCode).toBe(404);
    expect(description('/api/v1/grants/{id}', 'get', '404')).toContain(`\`${gone.json().error}\``);
  });
});
