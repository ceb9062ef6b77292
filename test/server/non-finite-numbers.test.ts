import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

/**
 * Text converted to a number (a form's field, a query's parameter) that reads as Infinity: Ajv
 * converts `Infinity`, `-Infinity` and `1e400` to the number, and skips `minimum` and `maximum`
 * for a number that is not finite, so it passed any bounds. A grant form with `ttl=-Infinity`
 * was a 500 (the store refused the expiry), and `ttl=Infinity` a silent default lifetime.
 */
describe('numbers that are not finite, in text', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => t.close());

  const createByForm = (ttl: string) =>
    t.app.inject({ method: 'POST', url: '/api/v1/grants', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `label=x&ttl=${encodeURIComponent(ttl)}` });

  it('are refused in a form field, 400 validation_failed naming it', async () => {
    for (const ttl of ['-Infinity', 'Infinity', '+Infinity', '1e400', '-1e400', '9'.repeat(400)]) {
      const answer = await createByForm(ttl);
      expect(answer.statusCode, ttl).toBe(400);
      expect(answer.json(), ttl).toMatchObject({ error: 'validation_failed', message: 'body.ttl must be a finite number.' });
    }
    // A finite one is still converted and bounded as before.
    expect((await createByForm('60')).statusCode).toBe(201);
    expect((await createByForm('5')).json()).toMatchObject({ error: 'validation_failed', message: expect.stringContaining('body.ttl must be >= 10') });
  });

  it('are refused in a query parameter', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/grants', payload: { label: 'x' } });
    const { id } = created.json<{ id: string }>();
    for (const since of ['Infinity', '-Infinity']) {
      const answer = await t.app.inject({ method: 'GET', url: `/api/v1/grants/${id}?since=${since}` });
      expect(answer.statusCode, since).toBe(400);
      expect(answer.json(), since).toMatchObject({ error: 'validation_failed', message: 'querystring.since must be a finite number.' });
    }
    expect((await t.app.inject({ method: 'GET', url: `/api/v1/grants/${id}?since=0` })).statusCode).toBe(200);
  });
});

/**
 * Text JavaScript's `Number` reads but nobody writes as a number (`0x1`, `1e3`, ` 5`): Ajv
 * converted it, so `?since=0x1` was the version 1 and a form's `ttl=6e1` sixty seconds.
 */
describe('numbers not written in decimal digits, in text', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => t.close());

  it('are refused in a query parameter and a form field, 400 validation_failed naming it', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/grants', payload: { label: 'x' } });
    const { id } = created.json<{ id: string }>();
    for (const since of ['0x1', '1e3', '0b1', '0o7', '+1', ' 1', '1 ']) {
      const answer = await t.app.inject({ method: 'GET', url: `/api/v1/grants/${id}?since=${encodeURIComponent(since)}` });
      expect(answer.statusCode, since).toBe(400);
      expect(answer.json(), since).toMatchObject({ error: 'validation_failed', message: 'querystring.since must be a number written in decimal digits.' });
    }
    expect((await t.app.inject({ method: 'GET', url: `/api/v1/grants/${id}?since=0` })).statusCode).toBe(200);
    for (const ttl of ['6e1', '0x3c']) {
      const answer = await t.app.inject({ method: 'POST', url: '/api/v1/grants', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `label=x&ttl=${ttl}` });
      expect(answer.statusCode, ttl).toBe(400);
      expect(answer.json(), ttl).toMatchObject({ error: 'validation_failed', message: 'body.ttl must be a number written in decimal digits.' });
    }
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/grants', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'label=x&ttl=60' })).statusCode).toBe(201);
  });
});
