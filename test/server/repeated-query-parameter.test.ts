import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

/**
 * A query parameter given twice where a route takes one value reaches the schema as a list, which
 * it refused as of the wrong type: `?since=1&since=2` was told "querystring.since must be integer",
 * which it is, twice. The answer says what happened. (`?wait=` given twice stays `invalid_wait`.)
 */
describe('a query parameter given several times', () => {
  let t: TestApp;
  let id: string;
  beforeAll(async () => {
    t = await createTestApp({});
    id = String((await t.app.inject({ method: 'POST', url: '/api/v1/grants', payload: { label: 'repeated since' } })).json().id);
  });
  afterAll(() => t.close());

  it('GET /api/v1/grants/:id?since=1&since=2 says since is given twice', async () => {
    for (const [query, times] of [['since=1&since=2', 2], ['since=0&since=0&since=0', 3]] as const) {
      const answer = await t.app.inject(`/api/v1/grants/${id}?${query}`);
      expect(answer.statusCode, query).toBe(400);
      expect(answer.json(), query).toEqual({ error: 'validation_failed', message: `querystring.since is given ${times} times; it takes one value: give it once.` });
    }
  });

  it('a since given once that is not a version still says so; a repeated wait is still invalid_wait, saying it is repeated', async () => {
    expect((await t.app.inject(`/api/v1/grants/${id}?since=abc`)).json()).toEqual({ error: 'validation_failed', message: 'querystring.since must be integer.' });
    expect((await t.app.inject(`/api/v1/grants/${id}?since=1`)).statusCode).toBe(200);
    expect((await t.app.inject(`/api/v1/grants/${id}?since=1&wait=1&wait=2`)).json()).toEqual({ error: 'invalid_wait', message: 'wait is given 2 times; it takes one value: give it once, as a number of seconds written in decimal digits (wait=30, or wait=2.5).' });
    expect((await t.app.inject(`/api/v1/grants/${id}?wait=abc`)).json()).toEqual({ error: 'invalid_wait', message: 'wait must be a number of seconds written in decimal digits (wait=30, or wait=2.5).' });
  });
});
