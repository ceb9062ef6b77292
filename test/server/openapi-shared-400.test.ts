import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { DEVICE_ENV } from '../doors/device/device-helpers.js';

interface Answer { description: string; examples?: unknown[]; content?: Record<string, { example?: unknown }> }
type Operations = Record<string, Record<string, { responses: Record<string, Answer> }>>;

/**
 * The shared 400 of the OpenAPI document (a route with no 400 of its own) showed one example on
 * every route, `body: "name" is required.`, GETs included, which have no body to miss a field.
 * Its example is now one the route gives, and what it says fits the route.
 */
describe('the OpenAPI document\'s shared 400 is true of each route', () => {
  let t: TestApp;
  let paths: Operations;
  beforeAll(async () => {
    t = await createTestApp({ ...DEVICE_ENV, PLEXUS_AUTH_USER: 'support', PLEXUS_AUTH_PASS: 'support-password' });
    paths = ((await t.app.inject('/docs/json')).json() as { paths: Operations }).paths;
  });
  afterAll(() => t.close());

  const exampleOf = (answer: Answer): unknown => answer.examples?.[0] ?? answer.content?.['application/json']?.example;
  const gets = (): Array<[string, Answer]> => Object.entries(paths).flatMap(([path, operations]) => {
    const answer = operations.get?.responses['400'];
    return answer ? [[path, answer] as [string, Answer]] : [];
  });

  it('no GET route\'s documented 400 example or shared description mentions a body', () => {
    expect(gets().length).toBeGreaterThan(10);
    const withBody = gets().filter(([, answer]) => /\bbody\b/i.test(JSON.stringify(exampleOf(answer)) ?? ''));
    expect(withBody.map(([path, answer]) => `${path}: ${JSON.stringify(exampleOf(answer))}`)).toEqual([]);
    // The shared one (with an example) names no body code where there is no body.
    const shared = gets().filter(([, answer]) => exampleOf(answer) !== undefined);
    expect(shared.filter(([, answer]) => /invalid_json|body_not_utf8|invalid_content_length/.test(answer.description)).map(([path]) => path)).toEqual([]);
  });

  it('the example is what the route answers: a path parameter, a bad wait, a missing field', async () => {
    const checks: Array<[string, string, string]> = [
      ['/config/{ref}', 'get', '/config/ab'],
      ['/access/{key}/events', 'get', '/access/bad!key/events'],
      ['/access/{key}', 'get', '/access/AAAAAAAAAAAAAAAAAAAAAA?wait=abc'],
      ['/{username}/service/info', 'get', `/${'u'.repeat(61)}/service/info`],
    ];
    for (const [path, method, url] of checks) {
      const answer = await t.app.inject({ method: 'GET', url, headers: { accept: 'application/json' } });
      expect(answer.statusCode, url).toBe(400);
      expect(answer.json(), url).toEqual(exampleOf(paths[path]![method]!.responses['400']!));
    }
    const register = await t.app.inject({ method: 'POST', url: '/account/register', payload: { username: 'someone', password: 'correct horse battery' }, headers: { accept: 'application/json' } });
    expect(register.statusCode).toBe(400);
    expect(register.json()).toEqual(exampleOf(paths['/account/register']!.post!.responses['400']!));
  });
});
