import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { fillPath, operations, type Operation } from '../helpers/hostile-requests.js';

/**
 * Every route that reads a JSON body, in every door (their own parsers included: the registry's,
 * which keeps the signed bytes, and the chat connectors'), refuses one whose bytes are not UTF-8
 * with `body_not_utf8` in its own error shape, instead of storing its text with letters replaced.
 */
describe('a Latin-1 JSON body is refused on every route that reads JSON', () => {
  let t: TestApp;
  let ops: Operation[];
  beforeAll(async () => {
    t = await createTestApp({
      PAIRGATE_RATE_LIMIT_MAX: '1000000',
      PAIRGATE_BRUTE_FORCE_BUDGET: '1',
      PLEXUS_AUTH_USER: 'support',
      PLEXUS_AUTH_PASS: 'sweep-password',
    });
    const doc = (await t.app.inject('/docs/json')).json();
    ops = operations(doc).filter((op) => op.method !== 'GET' && doc.paths[op.path][op.method.toLowerCase()].requestBody?.content?.['application/json']);
  });
  afterAll(() => t.close());

  it('finds the JSON routes of the doors with their own parsers', () => {
    const paths = ops.map((op) => op.path);
    for (const expected of ['/api/v1/grants', '/register', '/mattermost/{id}/install', '/webhook/{id}/command']) expect(paths, expected).toContain(expected);
  });

  it('answers each with 400 and body_not_utf8 (or an earlier refusal that needs no body: 401, 404, 405)', async () => {
    const body = Buffer.concat([Buffer.from('{"label":"caf'), Buffer.from([0xe9]), Buffer.from('"}')]);
    const refusedForBytes: string[] = [];
    const wrong: string[] = [];
    for (const op of ops) {
      const url = fillPath(op.path, 'x');
      const response = await t.app.inject({ method: op.method as 'POST', url, headers: { 'content-type': 'application/json' }, payload: body });
      if (response.statusCode === 400 && response.body.includes('body_not_utf8')) refusedForBytes.push(op.path);
      else if (![401, 404, 405].includes(response.statusCode)) wrong.push(`${op.method} ${url} -> ${response.statusCode} ${response.body.slice(0, 160)}`);
    }
    expect(wrong).toEqual([]);
    // The routes whose parser runs before any check of the caller: the generic API, the registry, the connectors' calls.
    for (const expected of ['/api/v1/grants', '/register', '/mattermost/{id}/install']) expect(refusedForBytes, expected).toContain(expected);
  });

  it('gives the refusal its own stable number in the registry\'s Mozilla-style shape', async () => {
    const body = Buffer.concat([Buffer.from('{"client":"caf'), Buffer.from([0xe9]), Buffer.from('"}')]);
    const response = await t.app.inject({ method: 'POST', url: '/register', headers: { 'content-type': 'application/json' }, payload: body });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 400, errno: 105, reason: 'body_not_utf8' });
  });
});
