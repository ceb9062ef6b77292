import { Ajv } from 'ajv';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

/**
 * The generic grant API's real answers against its OpenAPI document, body by body: each JSON answer
 * validates against the schema the document gives its route and status, names a machine code the
 * status's description lists, carries the headers that status documents, and matches the status's
 * example where the example is of the same refusal. (test/e2e/openapi-conformance.test.ts checks
 * that every status is documented; this checks what the documented answers hold.)
 */

interface DocResponse {
  description: string;
  headers?: Record<string, unknown>;
  content?: Record<string, { schema?: object; example?: Record<string, unknown> }>;
}

const ajv = new Ajv({ strict: false, allErrors: true });

describe('the generic grant API answers as its OpenAPI document says', () => {
  let t: TestApp;
  let doc: { paths: Record<string, Record<string, { responses: Record<string, DocResponse> }>> };
  const checked = new Set<string>();

  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_WAITS_PER_CLIENT: '1', PAIRGATE_GRANTS_MAX_LIVE_PER_IP: '4', PAIRGATE_CODE_MISSES_PER_HOUR: '5' });
    doc = (await t.app.inject('/docs/json')).json();
  });
  afterAll(() => t.close());

  /** Checks `answer` of `method path` (the document's path) against the document, and returns its JSON body. */
  const conforms = (method: string, path: string, answer: LightMyRequestResponse): any => {
    const where = `${method.toUpperCase()} ${path} -> ${answer.statusCode}`;
    const documented = doc.paths[path]?.[method]?.responses[String(answer.statusCode)];
    expect(documented, `${where} is not documented`).toBeDefined();
    checked.add(where);
    if (answer.statusCode === 204) {
      expect(answer.body, where).toBe('');
      return undefined;
    }
    const media = documented!.content?.['application/json'];
    expect(media?.schema, `${where}: no JSON schema`).toBeDefined();
    expect(String(answer.headers['content-type'])).toMatch(/^application\/json/);
    const body = answer.json();
    const validate = ajv.compile(media!.schema!);
    expect(validate(body), `${where}: ${ajv.errorsText(validate.errors)} in ${answer.body}`).toBe(true);
    for (const header of Object.keys(documented!.headers ?? {})) {
      expect(answer.headers[header], `${where}: header ${header}`).toMatch(/^[0-9]+$/);
    }
    if (answer.statusCode >= 400) {
      expect(documented!.description, `${where}: the description names ${body.error}`).toContain(`\`${body.error}\``);
      const example = media!.example;
      if (example && example.error === body.error) {
        expect(Object.keys(body).sort(), `${where}: the example's fields`).toEqual(Object.keys(example).sort());
        if (!('retryAfterSeconds' in example)) expect(body.message, `${where}: the example's message`).toBe(example.message);
      }
    }
    return body;
  };

  const json = (method: 'POST', url: string, payload?: unknown) => t.app.inject({ method, url, ...(payload === undefined ? {} : { payload: payload as object }) });
  const create = async (label = 'documented') => conforms('post', '/api/v1/grants', await json('POST', '/api/v1/grants', { label, data: { host: 'laptop' } }));

  it('creation: 201, 400, 413, 415, 429', async () => {
    const created = await create();
    expect(created.state).toBe('pending');
    conforms('post', '/api/v1/grants', await json('POST', '/api/v1/grants', { label: ' ' }));
    conforms('post', '/api/v1/grants', await json('POST', '/api/v1/grants', { label: 'x', extra: 1 }));
    conforms('post', '/api/v1/grants', await t.app.inject({ method: 'POST', url: '/api/v1/grants', headers: { 'content-type': 'application/json' }, payload: '{"label":' }));
    conforms('post', '/api/v1/grants', await t.app.inject({ method: 'POST', url: '/api/v1/grants', headers: { 'content-type': 'text/plain' }, payload: 'label' }));
    expect(conforms('post', '/api/v1/grants', await t.app.inject({ method: 'POST', url: '/api/v1/grants', headers: { 'content-type': 'application/json' }, payload: '{"label":"x","__proto__":{}}' })).error).toBe('body_forbidden_key');
    expect(conforms('post', '/api/v1/grants', await t.app.inject({ method: 'POST', url: '/api/v1/grants', headers: { 'content-type': 'application/json' }, payload: Buffer.from('{"label":"\xff"}', 'latin1') })).error).toBe('body_not_utf8');
    conforms('post', '/api/v1/grants', await t.app.inject({ method: 'POST', url: '/api/v1/grants', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ label: 'x'.repeat(2_000_000) }) }));
    // PAIRGATE_GRANTS_MAX_LIVE_PER_IP is 4: too_many_live_grants.
    let last: LightMyRequestResponse | undefined;
    for (let i = 0; i < 5; i++) last = await json('POST', '/api/v1/grants', { label: `cap ${i}` });
    expect(last!.statusCode).toBe(429);
    expect(conforms('post', '/api/v1/grants', last!).error).toBe('too_many_live_grants');
  });

  it('reading and waiting: 200, 400 (invalid_wait, validation_failed), 404', async () => {
    const created = (await t.app.inject({ method: 'POST', url: '/api/v1/grants', payload: { label: 'read' }, remoteAddress: '192.0.2.10' })).json();
    conforms('get', '/api/v1/grants/{id}', await t.app.inject(`/api/v1/grants/${created.id}`));
    conforms('get', '/api/v1/grants/{id}', await t.app.inject(`/api/v1/grants/${created.id}?wait=0.01`));
    expect(conforms('get', '/api/v1/grants/{id}', await t.app.inject(`/api/v1/grants/${created.id}?wait=-1`)).error).toBe('invalid_wait');
    expect(conforms('get', '/api/v1/grants/{id}', await t.app.inject(`/api/v1/grants/${created.id}?since=x`)).error).toBe('validation_failed');
    expect(conforms('get', '/api/v1/grants/{id}', await t.app.inject('/api/v1/grants/a%2Fbcdefghijk')).error).toBe('validation_failed');
    expect(conforms('get', '/api/v1/grants/{id}', await t.app.inject('/api/v1/grants/0123456789abcdefghij')).error).toBe('grant_not_found');
  });

  it('events: 404, 429 (no wait slot), 204 (nothing more to send)', async () => {
    const address = '192.0.2.20';
    const created = (await t.app.inject({ method: 'POST', url: '/api/v1/grants', payload: { label: 'events' }, remoteAddress: address })).json();
    expect(conforms('get', '/api/v1/grants/{id}/events', await t.app.inject('/api/v1/grants/0123456789abcdefghij/events')).error).toBe('grant_not_found');
    expect(conforms('get', '/api/v1/grants/{id}/events', await t.app.inject('/api/v1/grants/short/events')).error).toBe('validation_failed');
    // PAIRGATE_WAITS_PER_CLIENT is 1: a long-poll holds it, so a stream is refused.
    const holding = t.app.inject({ url: `/api/v1/grants/${created.id}?wait=30`, remoteAddress: address });
    await expect.poll(async () => /^pairgate_waiting_clients 1$/m.test((await t.app.inject('/metrics')).body)).toBe(true);
    expect(conforms('get', '/api/v1/grants/{id}/events', await t.app.inject({ url: `/api/v1/grants/${created.id}/events`, remoteAddress: address })).error).toBe('rate_limited');
    expect((await t.app.inject({ method: 'POST', url: `/api/v1/codes/${created.code}/refuse`, remoteAddress: address })).statusCode).toBe(200);
    expect((await holding).json().state).toBe('refused');
    conforms('get', '/api/v1/grants/{id}/events', await t.app.inject({ url: `/api/v1/grants/${created.id}/events`, headers: { 'last-event-id': '2' }, remoteAddress: address }));
  });

  it('codes and decisions: 200, 400, 404, 429', async () => {
    const address = '192.0.2.30';
    const created = (await t.app.inject({ method: 'POST', url: '/api/v1/grants', payload: { label: 'codes' }, remoteAddress: address })).json();
    conforms('get', '/api/v1/codes/{code}', await t.app.inject({ url: `/api/v1/codes/${created.code}`, remoteAddress: address }));
    const typo = `${created.code.slice(0, -1)}${created.code.endsWith('a') ? 'b' : 'a'}`;
    expect(conforms('get', '/api/v1/codes/{code}', await t.app.inject({ url: `/api/v1/codes/${typo}`, remoteAddress: address })).error).toBe('code_check_failed');
    expect(conforms('post', '/api/v1/codes/{code}/approve', await t.app.inject({ method: 'POST', url: `/api/v1/codes/${created.code}/approve`, payload: { note: 1 }, remoteAddress: address })).error).toBe('validation_failed');
    expect(conforms('post', '/api/v1/codes/{code}/refuse', await t.app.inject({ method: 'POST', url: `/api/v1/codes/${created.code}/refuse`, headers: { 'content-type': 'application/json' }, payload: '{"__proto__":{"note":"x"}}', remoteAddress: address })).error).toBe('body_forbidden_key');
    conforms('post', '/api/v1/codes/{code}/approve', await t.app.inject({ method: 'POST', url: `/api/v1/codes/${created.code}/approve`, payload: { note: 'fine' }, remoteAddress: address }));
    expect(conforms('post', '/api/v1/codes/{code}/refuse', await t.app.inject({ method: 'POST', url: `/api/v1/codes/${created.code}/refuse`, remoteAddress: address })).error).toBe('code_not_found');
    // PAIRGATE_CODE_MISSES_PER_HOUR is 5: wrong (well-formed) codes until the look-ups are refused.
    const misses = [];
    for (let i = 0; i < 8; i++) misses.push(await t.app.inject({ url: `/api/v1/codes/${created.code}`, remoteAddress: address }));
    const refused = misses.find((answer) => answer.statusCode === 429);
    expect(refused, 'a look-up refused after the misses').toBeDefined();
    expect(conforms('get', '/api/v1/codes/{code}', refused!).error).toBe('rate_limited');
  });

  it('redeem: 200, 400, 404 (wrong secret and unknown id alike), 409 (pending, refused with its note, redeemed)', async () => {
    const address = '192.0.2.40';
    const make = async () => (await t.app.inject({ method: 'POST', url: '/api/v1/grants', payload: { label: 'redeem' }, remoteAddress: address })).json();
    const redeem = (id: string, secret: string) => t.app.inject({ method: 'POST', url: `/api/v1/grants/${id}/redeem`, payload: { secret }, remoteAddress: address });
    const grant = await make();
    expect(conforms('post', '/api/v1/grants/{id}/redeem', await redeem(grant.id, grant.secret)).error).toBe('grant_pending');
    const wrongSecret = conforms('post', '/api/v1/grants/{id}/redeem', await redeem(grant.id, 'x'.repeat(43)));
    const unknownId = conforms('post', '/api/v1/grants/{id}/redeem', await redeem('0123456789abcdefghij', 'x'.repeat(43)));
    expect(wrongSecret).toEqual(unknownId);
    expect(conforms('post', '/api/v1/grants/{id}/redeem', await t.app.inject({ method: 'POST', url: `/api/v1/grants/${grant.id}/redeem`, payload: {}, remoteAddress: address })).error).toBe('validation_failed');
    expect(conforms('post', '/api/v1/grants/{id}/redeem', await t.app.inject({ method: 'POST', url: `/api/v1/grants/${grant.id}/redeem`, headers: { 'content-type': 'application/json' }, payload: '{"secret":"0123456789","__proto__":{}}', remoteAddress: address })).error).toBe('body_forbidden_key');
    await t.app.inject({ method: 'POST', url: `/api/v1/codes/${grant.code}/approve`, remoteAddress: address });
    expect(conforms('post', '/api/v1/grants/{id}/redeem', await redeem(grant.id, grant.secret)).state).toBe('redeemed');
    expect(conforms('post', '/api/v1/grants/{id}/redeem', await redeem(grant.id, grant.secret)).error).toBe('grant_redeemed');
    const refused = await make();
    await t.app.inject({ method: 'POST', url: `/api/v1/codes/${refused.code}/refuse`, payload: { note: 'not today' }, remoteAddress: address });
    expect(conforms('post', '/api/v1/grants/{id}/redeem', await redeem(refused.id, refused.secret))).toMatchObject({ error: 'grant_refused', note: 'not today' });
  });

  it('checked every route of the API', () => {
    const routes = new Set([...checked].map((where) => where.replace(/ -> \d+$/, '')));
    expect([...routes].sort()).toEqual([
      'GET /api/v1/codes/{code}',
      'GET /api/v1/grants/{id}',
      'GET /api/v1/grants/{id}/events',
      'POST /api/v1/codes/{code}/approve',
      'POST /api/v1/codes/{code}/refuse',
      'POST /api/v1/grants',
      'POST /api/v1/grants/{id}/redeem',
    ]);
  });
});
