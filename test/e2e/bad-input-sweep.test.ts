import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { hostileRequests, sweptOperations, type Operation } from '../helpers/hostile-requests.js';

/**
 * A sweep over every route in the OpenAPI document with hostile input (`hostileRequests`): no
 * body, malformed JSON, wrong types everywhere, oversized strings, odd path parameters, a foreign
 * content type. Whatever a door does with it, the answer must be a 4xx (or a 2xx/3xx where the
 * input happens to be acceptable): never a 5xx, never a crash, never a hang.
 */

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
    // Page forms are hidden from the API document; sweep them too.
    ops = sweptOperations((await t.app.inject('/docs/json')).json());
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
      for (const request of hostileRequests(op)) await send(request);
    }
    expect(failures).toEqual([]);
  }, 120_000);
});
