import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.js';

/**
 * Every `?wait=` that is not seconds in decimal digits is one mistake: one code (`invalid_wait`) and
 * one message, whether the route's schema refuses it (`NaN`, `-1`, `abc`, `0x10`) or lets it
 * through as digits too many to be a finite number.
 */
describe('bad ?wait= values on GET /api/v1/grants/:id', () => {
  let t: TestApp;
  let id: string;
  beforeAll(async () => {
    t = await createTestApp();
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/grants', payload: { label: 'wait values' } });
    id = (created.json() as { id: string }).id;
  });
  afterAll(() => t.close());

  // `0x10`, `1e3`, ` 5`: numbers to JavaScript (16, 1000, 5), never seconds as people write them.
  for (const wait of ['NaN', 'Infinity', '-Infinity', '1e400', '-1', 'abc', '1s', '0x', '0x10', '1e3', ' 5', '5.', '.5', '9'.repeat(400)]) {
    it(`wait=${wait.slice(0, 10)}: 400 invalid_wait`, async () => {
      const response = await t.app.inject({ method: 'GET', url: `/api/v1/grants/${id}?wait=${encodeURIComponent(wait)}` });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual({ error: 'invalid_wait', message: 'wait must be a number of seconds written in decimal digits (wait=30, or wait=2.5).' });
    });
  }

  it('a wait given twice is refused the same way', async () => {
    const response = await t.app.inject({ method: 'GET', url: `/api/v1/grants/${id}?wait=1&wait=2` });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toBe('invalid_wait');
  });

  it('good waits still answer, and other bad query fields stay validation_failed', async () => {
    for (const wait of ['0', '0.5']) {
      expect((await t.app.inject({ method: 'GET', url: `/api/v1/grants/${id}?wait=${wait}` })).statusCode).toBe(200);
    }
    const since = await t.app.inject({ method: 'GET', url: `/api/v1/grants/${id}?since=-1` });
    expect(since.statusCode).toBe(400);
    expect(since.json().error).toBe('validation_failed');
  });
});
