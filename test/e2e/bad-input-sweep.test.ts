import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

/**
 * A sweep over every route in the OpenAPI document with hostile input: no body, malformed JSON,
 * wrong types everywhere, oversized strings, odd path parameters, a foreign content type. Whatever
 * a door does with it, the answer must be a 4xx (or a 2xx/3xx where the input happens to be
 * acceptable): never a 5xx, never a crash, never a hang.
 */

const ODD_PARAMS = ['%00', '..%2F..%2Fetc%2Fpasswd', 'x'.repeat(2000), '%F0%9F%92%A9', "'; drop table grants; --", '-1', '0'];
const WRONG_TYPES = [{}, [], 12, true, null, 'x'.repeat(5000), { $ne: null }, { __proto__: { admin: true } }];

interface Operation {
  method: string;
  path: string;
  bodyProperties: string[];
}

function operations(doc: { paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> } }>> }): Operation[] {
  const found: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, spec] of Object.entries(methods)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const schema = spec.requestBody?.content?.['application/json']?.schema;
      found.push({ method: method.toUpperCase(), path, bodyProperties: Object.keys(schema?.properties ?? {}) });
    }
  }
  return found;
}

function fillPath(path: string, value: string): string {
  return path.replace(/\{[^}]+\}/g, value);
}

describe('bad input never gets a 5xx, on any route', () => {
  let t: TestApp;
  let ops: Operation[];
  beforeAll(async () => {
    t = await createTestApp({
      PAIRGATE_RATE_LIMIT_MAX: '1000000',
      PAIRGATE_CODE_LOOKUPS_PER_MINUTE: '1000000',
      PAIRGATE_CODE_MISSES_PER_HOUR: '1000000',
      PAIRGATE_BRUTE_FORCE_BUDGET: '1',
      PLEXUS_AUTH_USER: 'support',
      PLEXUS_AUTH_PASS: 'sweep-password',
    });
    ops = operations((await t.app.inject('/docs/json')).json());
    // Page forms are hidden from the API document; sweep them too.
    const forms = ['/account/signin', '/account/register', '/account/reset', '/account/reset/confirm', '/account/signout', '/account/accesses/{id}/revoke', '/access/auth/signin', '/access/auth/decide', '/relay/go', '/pairing/{code}/confirm'];
    for (const path of forms) ops.push({ method: 'POST', path, bodyProperties: ['_csrf', 'username', 'password', 'email', 'key', 'decision', 'token', 'code', 'Decision'] });
    for (const path of ['/account', '/account/signin', '/account/register', '/account/accesses', '/access/auth', '/boxes', '/relay/', '/', '/relay/go']) ops.push({ method: 'GET', path, bodyProperties: [] });
  });
  afterAll(() => t.close());

  it('finds the routes of every door in the OpenAPI document', () => {
    const paths = ops.map((op) => op.path);
    for (const expected of ['/api/v1/grants', '/access', '/session', '/register', '/ping']) {
      expect(paths.some((p) => p === expected || p.endsWith(expected)), expected).toBe(true);
    }
    expect(ops.length).toBeGreaterThan(25);
  });

  it('answers every hostile request below 500', async () => {
    const failures: string[] = [];
    const send = async (request: InjectOptions): Promise<void> => {
      const response = await t.app.inject(request);
      if (response.statusCode >= 500) failures.push(`${request.method} ${String(request.url)} -> ${response.statusCode} ${response.body.slice(0, 200)}`);
    };
    for (const op of ops) {
      for (const param of ODD_PARAMS) {
        await send({ method: op.method as InjectOptions['method'], url: fillPath(op.path, param) });
        await send({ method: op.method as InjectOptions['method'], url: `${fillPath(op.path, 'abcdefghijklmnopqrstuv')}?key=${param}&lang=${param}&wait=${param}&code=${param}&returnURL=${param}` });
      }
      if (op.method === 'GET' || op.method === 'DELETE') continue;
      const url = fillPath(op.path, 'abcdefghijklmnopqrstuv');
      await send({ method: op.method as InjectOptions['method'], url });
      await send({ method: op.method as InjectOptions['method'], url, headers: { 'content-type': 'application/json' }, payload: '{"broken": ' });
      await send({ method: op.method as InjectOptions['method'], url, headers: { 'content-type': 'application/json' }, payload: '[]' });
      await send({ method: op.method as InjectOptions['method'], url, headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.from([0, 1, 2, 255]) });
      await send({ method: op.method as InjectOptions['method'], url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'a=%ZZ&&=&b' });
      for (const wrong of WRONG_TYPES) {
        const body = Object.fromEntries(op.bodyProperties.map((name) => [name, wrong]));
        await send({ method: op.method as InjectOptions['method'], url, payload: body as Record<string, unknown> });
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);
});
