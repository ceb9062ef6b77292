import net from 'node:net';
import { renameSync } from 'node:fs';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { eventStream, htmlPage, seeOther } from '../../src/server/openapi-responses.js';
import { answersMachineData } from '../../src/server/security-headers.js';

describe('server basics', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_RATE_LIMIT_MAX: '1000' });
  });
  afterAll(() => t.close());

  it('answers /healthz and /readyz', async () => {
    expect((await t.app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    const ready = await t.app.inject('/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ready', checks: { stores: 'ok' } });
  });

  it('a /readyz that fails names no path (anyone may ask); the log has the cause', async () => {
    const dataDir = t.config.PAIRGATE_DATA_DIR;
    renameSync(dataDir, `${dataDir}-moved`);
    try {
      const ready = await t.app.inject('/readyz');
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toEqual({ status: 'not_ready', checks: { stores: 'the data folder cannot be read (ENOENT)' } });
      expect(ready.body).not.toContain(dataDir);
      expect(t.logs.join('')).toContain('readiness: the stores do not answer');
    } finally {
      renameSync(`${dataDir}-moved`, dataDir);
    }
    expect((await t.app.inject('/readyz')).statusCode).toBe(200);
  });

  it('serves the OpenAPI document built from the route schemas, and the docs page', async () => {
    const doc = (await t.app.inject('/docs/json')).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.paths['/api/v1/grants'].post.requestBody.content['application/json'].schema.properties.label).toMatchObject({ type: 'string', maxLength: 200 });
    expect(doc.paths['/api/v1/grants/{id}'].get.responses['200']).toBeDefined();
    // Both spellings of the long-poll are documented.
    const waitParameters = doc.paths['/api/v1/grants/{id}'].get.parameters.map((p: { in: string; name: string }) => `${p.in}:${p.name}`);
    expect(waitParameters).toEqual(expect.arrayContaining(['query:wait', 'query:since', 'header:prefer']));
    // A decision's body (an optional note) may be left out; a creation's may not.
    expect(doc.paths['/api/v1/codes/{code}/approve'].post.requestBody.required).toBe(false);
    expect(doc.paths['/api/v1/grants'].post.requestBody.required).toBe(true);
    // Routes that want credentials say which kind, against schemes the document declares.
    expect(doc.components.securitySchemes).toMatchObject({ bearerSecret: { type: 'http', scheme: 'bearer' }, basicAuth: { type: 'http', scheme: 'basic' } });
    expect(doc.paths['/api/v1/device/clients'].get.security).toEqual([{ bearerSecret: [] }]);
    expect(doc.paths['/api/v1/grants'].post.security).toBeUndefined();
    const page = await t.app.inject('/docs/');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
  });

  it('counts grant events and request latency in /metrics', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/grants', payload: { label: 'metrics' } });
    expect(created.statusCode).toBe(201);
    await t.app.inject({ method: 'POST', url: `/api/v1/codes/${created.json().code}/approve`, payload: {} });
    const metrics = (await t.app.inject('/metrics')).body;
    expect(metrics).toMatch(/pairgate_grants_total\{door="pair",event="created"\} [1-9]/);
    expect(metrics).toMatch(/pairgate_grants_total\{door="pair",event="approved"\} [1-9]/);
    expect(metrics).toMatch(/pairgate_http_request_duration_seconds_count\{method="POST",route="\/api\/v1\/grants",status="201"\} [1-9]/);
  });

  it('counts the waits held open in /metrics (pairgate_waiting_clients), and forgets a wait its client left', async () => {
    const waitingNow = async () => Number(/^pairgate_waiting_clients (\d+)$/m.exec((await t.app.inject('/metrics')).body)?.[1]);
    const base = t.url || await t.listen();
    const { id } = (await t.app.inject({ method: 'POST', url: '/api/v1/grants', payload: { label: 'held' } })).json<{ id: string }>();
    const before = await waitingNow();
    const left = new AbortController();
    const held = fetch(`${base}/api/v1/grants/${id}?wait=30`, { signal: left.signal }).catch(() => undefined);
    await expect.poll(waitingNow).toBe(before + 1);
    left.abort();
    await held;
    // Before, the gauge was declared and never set: 0 whatever was held.
    await expect.poll(waitingNow).toBe(before);
  });

  it('a long-poll whose client left during the read before its wait holds no wait slot', async () => {
    const waitingNow = async () => Number(/^pairgate_waiting_clients (\d+)$/m.exec((await t.app.inject('/metrics')).body)?.[1]);
    const base = t.url || await t.listen();
    const { id } = (await t.app.inject({ method: 'POST', url: '/api/v1/grants', payload: { label: 'left early' } })).json<{ id: string }>();
    const before = await waitingNow();
    // The grant read before the wait takes long enough for the client to leave meanwhile.
    const engine = t.app.pairgate.engine;
    const get = engine.get.bind(engine);
    let reading: (() => void) | undefined;
    const readStarted = new Promise<void>((resolve) => { reading = resolve; });
    engine.get = (async (grantId: string) => {
      reading?.();
      await new Promise((resolve) => setTimeout(resolve, 300));
      return get(grantId);
    }) as typeof engine.get;
    try {
      const socket = net.connect(Number(new URL(base).port), '127.0.0.1', () => socket.write(`GET /api/v1/grants/${id}?wait=30 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`));
      socket.on('error', () => undefined);
      await readStarted;
      socket.destroy();
      // Every read before the wait (the route's and the wait's own) is slowed: past them all.
      await new Promise((resolve) => setTimeout(resolve, 1500));
    } finally {
      engine.get = get;
    }
    // Before, its 'close' had come and gone before the wait listened for it: the slot stayed held 30 s.
    expect(await waitingNow()).toBe(before);
  });

  it('sends pages a strict CSP and helmet\'s headers', async () => {
    for (const url of ['/', '/no/such/page']) {
      const response = await t.app.inject(url);
      const csp = String(response.headers['content-security-policy']);
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      // No picture from elsewhere: only the support confirmation page shows one (its supporter's avatar).
      expect(csp).toContain("img-src 'self' data:;");
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['referrer-policy']).toBe('no-referrer');
      expect(response.headers['cross-origin-opener-policy']).toBe('same-origin');
    }
  });

  it('sends machine answers (API, health) the REST set: nothing may load, nothing is cached', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/grants', payload: { label: 'headers' } });
    for (const response of [created, await t.app.inject('/healthz'), await t.app.inject('/api/v1/grants/unknown-grant-id')]) {
      expect(response.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['x-frame-options']).toBe('DENY');
      expect(response.headers['strict-transport-security']).toContain('max-age=');
    }
  });

  it('sends the REST set to JSON routes outside /api/ too (tokens, keys), and keeps the page set on pages and form posts', async () => {
    // Public metadata says itself how long it may be cached; answers that can carry keys are never cached.
    const metadata = [await t.app.inject('/service/info'), await t.app.inject('/.well-known/oauth-authorization-server')];
    const keys = [await t.app.inject({ method: 'POST', url: '/oauth/token', payload: { grant_type: 'nonsense' } }), await t.app.inject({ method: 'POST', url: '/access', payload: {} })];
    for (const response of [...metadata, ...keys]) {
      expect(response.headers['content-type'], response.body).toMatch(/json/);
      expect(response.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
      expect(response.headers['x-frame-options']).toBe('DENY');
    }
    for (const response of keys) expect(response.headers['cache-control']).toBe('no-store');
    for (const response of [await t.app.inject('/device'), await t.app.inject('/account/signin'), await t.app.inject({ method: 'POST', url: '/account/signin', payload: {} })]) {
      expect(String(response.headers['content-security-policy'])).toContain("default-src 'self'");
    }
  });

  it('tells data routes from pages by what their schema documents', () => {
    const json = { type: 'object' };
    expect(answersMachineData({ response: { 200: json, 400: json } })).toBe(true);
    expect(answersMachineData({ response: { 200: eventStream('events') } })).toBe(true);
    expect(answersMachineData({ response: { 200: htmlPage('a page'), 400: json } })).toBe(false);
    expect(answersMachineData({ response: { 303: seeOther('next'), 400: json } })).toBe(false);
    expect(answersMachineData({ response: { 200: json }, produces: ['text/html'] })).toBe(false);
    expect(answersMachineData({ response: { 404: json } })).toBe(false);
    expect(answersMachineData(undefined)).toBe(false);
  });

  describe('bad input: clear 4xx with a machine code, never 5xx', () => {
    const cases: { name: string; request: InjectOptions; status: number; error: string }[] = [
      { name: 'malformed JSON', request: { method: 'POST', url: '/api/v1/grants', headers: { 'content-type': 'application/json' }, payload: '{"label":' }, status: 400, error: 'invalid_json' },
      { name: 'empty JSON body', request: { method: 'POST', url: '/api/v1/grants', headers: { 'content-type': 'application/json' }, payload: '' }, status: 400, error: 'invalid_json' },
      { name: 'wrong type', request: { method: 'POST', url: '/api/v1/grants', payload: { label: { nested: true } } }, status: 400, error: 'validation_failed' },
      { name: 'missing field', request: { method: 'POST', url: '/api/v1/grants', payload: {} }, status: 400, error: 'validation_failed' },
      { name: 'unknown field', request: { method: 'POST', url: '/api/v1/grants', payload: { label: 'x', admin: true } }, status: 400, error: 'validation_failed' },
      { name: 'over-long field', request: { method: 'POST', url: '/api/v1/grants', payload: { label: 'x'.repeat(201) } }, status: 400, error: 'validation_failed' },
      { name: 'huge body', request: { method: 'POST', url: '/api/v1/grants', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ label: 'x'.repeat(200_000) }) }, status: 413, error: 'payload_too_large' },
      { name: 'unsupported media type', request: { method: 'POST', url: '/api/v1/grants', headers: { 'content-type': 'application/xml' }, payload: '<a/>' }, status: 415, error: 'unsupported_media_type' },
      { name: 'plain text body', request: { method: 'POST', url: '/api/v1/grants', headers: { 'content-type': 'text/plain' }, payload: 'label=x' }, status: 415, error: 'unsupported_media_type' },
      { name: 'unknown route', request: { method: 'GET', url: '/no/such/thing' }, status: 404, error: 'route_not_found' },
      { name: 'bad id', request: { method: 'GET', url: '/api/v1/grants/%00%00' }, status: 400, error: 'validation_failed' },
      { name: 'unknown grant', request: { method: 'GET', url: '/api/v1/grants/AAAAAAAAAAAAAAAAAAAAAA' }, status: 404, error: 'grant_not_found' },
      { name: 'negative wait', request: { method: 'GET', url: '/api/v1/grants/AAAAAAAAAAAAAAAAAAAAAA?wait=-1' }, status: 400, error: 'invalid_wait' },
      { name: 'mistyped code', request: { method: 'GET', url: '/api/v1/codes/abcd-efgh-j' }, status: 400, error: 'code_check_failed' },
      { name: 'code with a foreign character', request: { method: 'GET', url: '/api/v1/codes/abcd-efgh-!' }, status: 400, error: 'code_bad_character' },
      // Refused by the router before any route runs; answered in the same shape all the same.
      { name: 'malformed %-escape in the path', request: { method: 'GET', url: '/api/v1/grants/%E0%A4%A' }, status: 400, error: 'bad_url' },
      { name: 'path parameter over the router\'s limit', request: { method: 'GET', url: `/api/v1/grants/${'a'.repeat(150)}` }, status: 414, error: 'uri_too_long' },
      { name: 'over-long key of an auth request (access door)', request: { method: 'GET', url: `/access/${'a'.repeat(150)}` }, status: 414, error: 'uri_too_long' },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const response = await t.app.inject(c.request);
        expect(response.statusCode, response.body).toBe(c.status);
        const body = response.json();
        expect(body.error).toBe(c.error);
        expect(typeof body.message).toBe('string');
        expect(body.message.length).toBeGreaterThan(5);
        expect(response.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      });
    }
  });
});

describe('rate limits', () => {
  it('answers 429 with Retry-After and a machine code once the global limit is spent', async () => {
    const t = await createTestApp({ PAIRGATE_RATE_LIMIT_MAX: '5' });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) statuses.push((await t.app.inject('/api/v1/grants/AAAAAAAAAAAAAAAAAAAAAA')).statusCode);
      expect(statuses.slice(0, 5)).toEqual([404, 404, 404, 404, 404]);
      const limited = await t.app.inject('/api/v1/grants/AAAAAAAAAAAAAAAAAAAAAA');
      expect(limited.statusCode).toBe(429);
      expect(limited.json()).toMatchObject({ error: 'rate_limited' });
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await t.close();
    }
  });

  it('refuses an address that misses too many codes, even with fresh codes', async () => {
    const t = await createTestApp({ PAIRGATE_CODE_MISSES_PER_HOUR: '3' });
    try {
      const { code } = (await t.app.inject({ method: 'POST', url: '/api/v1/grants', payload: { label: 'x' } })).json();
      const format = await import('../../src/core/codes.js');
      const f = new format.CodeFormat({ alphabet: 'base32', length: 8, checkCharacter: true });
      for (let i = 0; i < 3; i++) expect((await t.app.inject(`/api/v1/codes/${f.generate()}`)).statusCode).toBe(404);
      const blocked = await t.app.inject(`/api/v1/codes/${code}`);
      expect(blocked.statusCode).toBe(429);
      expect(blocked.json().message).toMatch(/Too many wrong codes/);
      // Another address is not affected.
      const other = await t.app.inject({ url: `/api/v1/codes/${code}`, remoteAddress: '127.0.0.9' });
      expect(other.statusCode).toBe(200);
    } finally {
      await t.close();
    }
  });

  it('counts an IPv6 caller by its /64: another address of the same network shares its budgets', async () => {
    const t = await createTestApp({ PAIRGATE_CODE_MISSES_PER_HOUR: '3', PAIRGATE_RATE_LIMIT_MAX: '6' });
    try {
      const { CodeFormat } = await import('../../src/core/codes.js');
      const f = new CodeFormat({ alphabet: 'base32', length: 8, checkCharacter: true });
      const lookUp = (remoteAddress: string) => t.app.inject({ url: `/api/v1/codes/${f.generate()}`, remoteAddress });
      for (const address of ['2001:db8:1:2::1', '2001:db8:1:2:0:a:b:c', '2001:db8:1:2:ffff:ffff:ffff:fffe']) expect((await lookUp(address)).statusCode).toBe(404);
      // A fresh address in the same /64 is the same caller: its misses are spent.
      expect((await lookUp('2001:db8:1:2:dead:beef:0:1')).statusCode).toBe(429);
      // Another /64, and an IPv4 caller, are not.
      expect((await lookUp('2001:db8:1:3::1')).statusCode).toBe(404);
      expect((await lookUp('203.0.113.5')).statusCode).toBe(404);
      // The global per-address limit counts the same way: 6 requests from 6 addresses of one /64.
      const read = (remoteAddress: string) => t.app.inject({ url: '/api/v1/grants/AAAAAAAAAAAAAAAAAAAAAA', remoteAddress });
      for (let i = 1; i <= 6; i++) expect((await read(`2001:db8:1:2::7${i}`)).statusCode).toBe(404);
      expect((await read('2001:db8:1:2::79')).statusCode).toBe(429);
      expect((await read('2001:db8:9:9::79')).statusCode).toBe(404);
    } finally {
      await t.close();
    }
  });
});
