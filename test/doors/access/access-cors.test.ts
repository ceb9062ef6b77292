import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { authRequest, postJson, useRegisteredUser } from './form-client.js';

const FAST = { PAIRGATE_SCRYPT_COST: '10' };

/** The third-party app's page, on an origin of its own. */
const APP_ORIGIN = 'https://notes-app.example';

type Method = 'GET' | 'POST' | 'PUT';

/** What a browser sends before a call it may not make without asking (RFC 9110 OPTIONS, Fetch's CORS preflight). */
function preflightHeaders(method: Method, headers: string): Record<string, string> {
  return { origin: APP_ORIGIN, 'access-control-request-method': method, 'access-control-request-headers': headers };
}

/** The answer headers that would open a path to other origins. */
function corsHeadersOf(response: LightMyRequestResponse): Record<string, unknown> {
  return Object.fromEntries(Object.entries(response.headers).filter(([name]) => name.startsWith('access-control-')));
}

/** Checks that `response` to a preflight lets a page make the call, and nothing more. */
function expectOpenPreflight(response: LightMyRequestResponse, method: Method, headers: string[], where: string): void {
  expect(response.statusCode, where).toBe(204);
  expect(response.headers['access-control-allow-origin'], where).toBe('*');
  expect(String(response.headers['access-control-allow-methods']).split(', '), where).toContain(method);
  expect(String(response.headers['access-control-allow-headers']).split(', ').sort(), where).toEqual(headers.sort());
  expect(Number(response.headers['access-control-max-age']), where).toBeGreaterThanOrEqual(600);
  // `*` with credentials is refused by browsers anyway; a cookie is never asked for here.
  expect(response.headers['access-control-allow-credentials'], where).toBeUndefined();
  expect(response.headers.allow, where).toContain('OPTIONS');
  expect(response.body, where).toBe('');
}

/** Checks that an actual answer is readable by the app's page, with the headers it needs exposed. */
function expectReadable(response: LightMyRequestResponse, where: string): void {
  expect(response.headers['access-control-allow-origin'], where).toBe('*');
  expect(response.headers['access-control-allow-credentials'], where).toBeUndefined();
  const exposed = String(response.headers['access-control-expose-headers']).split(', ');
  expect(exposed, where).toEqual(expect.arrayContaining(['retry-after', 'preference-applied']));
}

/** The Allow headers the server answered OPTIONS with before any route of its own took it. */
const ALLOW_BEFORE: Record<string, string> = {
  '/access': 'POST, OPTIONS',
  '/access/<key>': 'GET, HEAD, OPTIONS',
  '/access/auth': 'GET, HEAD, OPTIONS',
  '/access/auth/decide': 'POST, OPTIONS',
  '/access/auth/signin': 'POST, OPTIONS',
  '/access/introspect': 'GET, HEAD, POST, OPTIONS',
  '/account/signin': 'GET, HEAD, POST, OPTIONS',
  '/account/accesses': 'GET, HEAD, OPTIONS',
  '/api/v1/accesses': 'GET, HEAD, OPTIONS',
};

describe('access door CORS: the calls a web app makes from its page', () => {
  const served = useRegisteredUser('cors-user', { ...FAST, PAIRGATE_ACCESS_CREATE_PER_MINUTE: '1000' });

  const create = async (): Promise<{ key: string; poll: string }> => {
    const created = await postJson(`${served.base}/access`, authRequest({ requestingAppId: 'cors-notes-app' }));
    expect(created.status).toBe(201);
    return { key: String(created.body.key), poll: String(created.body.poll) };
  };

  it('a preflight on each route the pryv library calls from a page answers 204 with the origin, methods, headers and a max age', async () => {
    const { key } = await create();
    const calls: Array<[string, Method, string[]]> = [
      ['/service/info', 'GET', ['content-type', 'prefer']],
      ['/cors-user/service/info', 'GET', ['content-type', 'prefer']],
      ['/access', 'POST', ['content-type', 'prefer']],
      ['/access/', 'POST', ['content-type', 'prefer']],
      [`/access/${key}`, 'GET', ['content-type', 'prefer']],
      [`/access/${key}?wait=30`, 'GET', ['content-type', 'prefer']],
      [`/access/${key}/events`, 'GET', ['content-type', 'prefer', 'last-event-id']],
      ['/cors-user/access-info', 'GET', ['authorization', 'content-type', 'prefer']],
    ];
    for (const [url, method, headers] of calls) {
      const response = await served.t.app.inject({ method: 'OPTIONS', url, headers: preflightHeaders(method, headers.join(',')) });
      expectOpenPreflight(response, method, headers, url);
    }
    // Authorization only where a token is read: a page cannot send one to the others.
    const poll = await served.t.app.inject({ method: 'OPTIONS', url: `/access/${key}`, headers: preflightHeaders('GET', 'authorization') });
    expect(String(poll.headers['access-control-allow-headers'])).not.toContain('authorization');
  });

  it('the actual answers carry Allow-Origin *: service info, the auth request, the poll, the long poll (Preference-Applied readable), the stream and access-info', async () => {
    const origin = { origin: APP_ORIGIN };
    for (const url of ['/service/info', '/cors-user/service/info']) {
      const response = await served.t.app.inject({ method: 'GET', url, headers: origin });
      expect(response.statusCode, url).toBe(200);
      expectReadable(response, url);
      const head = await served.t.app.inject({ method: 'HEAD', url, headers: origin });
      expectReadable(head, `HEAD ${url}`);
    }
    for (const url of ['/access', '/access/']) {
      const response = await served.t.app.inject({ method: 'POST', url, headers: { ...origin, 'content-type': 'application/json' }, payload: authRequest() });
      expect(response.statusCode, url).toBe(201);
      expectReadable(response, url);
    }
    const { key } = await create();
    const poll = await served.t.app.inject({ method: 'GET', url: `/access/${key}`, headers: origin });
    expect(poll.statusCode).toBe(201);
    expectReadable(poll, 'poll');
    const longPoll = await served.t.app.inject({ method: 'GET', url: `/access/${key}`, headers: { ...origin, prefer: 'wait=1' } });
    expect(longPoll.statusCode).toBe(201);
    expect(longPoll.headers['preference-applied']).toBe('wait=1');
    expectReadable(longPoll, 'long poll');
    const queryWait = await served.t.app.inject({ method: 'GET', url: `/access/${key}?wait=1`, headers: origin });
    expect(queryWait.statusCode).toBe(201);
    expectReadable(queryWait, '?wait=');

    // The stream of a decided request: one event, then it ends.
    await served.user.decide(key, 'accept');
    const stream = await served.t.app.inject({ method: 'GET', url: `/access/${key}/events`, headers: origin });
    expect(stream.statusCode).toBe(200);
    expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(stream.body).toContain('"status":"ACCEPTED"');
    expectReadable(stream, 'events');

    const accepted = await served.t.app.inject({ method: 'GET', url: `/access/${key}`, headers: origin });
    expect(accepted.statusCode).toBe(200);
    const token = String(accepted.json().token);
    const info = await served.t.app.inject({ method: 'GET', url: '/cors-user/access-info', headers: { ...origin, authorization: token } });
    expect(info.statusCode).toBe(200);
    expect(info.json()).toMatchObject({ type: 'app', name: 'cors-notes-app' });
    expectReadable(info, 'access-info');
  });

  it('error answers carry Allow-Origin too, so the page can read why: 404 unknown_key, 400s, 401 with its challenge exposed', async () => {
    const origin = { origin: APP_ORIGIN };
    const unknown = await served.t.app.inject({ method: 'GET', url: '/access/AAAAAAAAAAAAAAAAAAAAAA', headers: origin });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ id: 'unknown_key' });
    expectReadable(unknown, 'unknown key');
    const unknownStream = await served.t.app.inject({ method: 'GET', url: '/access/AAAAAAAAAAAAAAAAAAAAAA/events', headers: origin });
    expect(unknownStream.statusCode).toBe(404);
    expectReadable(unknownStream, 'unknown key events');
    const badWait = await served.t.app.inject({ method: 'GET', url: '/access/AAAAAAAAAAAAAAAAAAAAAA?wait=abc', headers: origin });
    expect(badWait.statusCode).toBe(400);
    expect(badWait.json()).toMatchObject({ id: 'invalid_wait' });
    expectReadable(badWait, 'invalid wait');
    const badBody = await served.t.app.inject({ method: 'POST', url: '/access', headers: { ...origin, 'content-type': 'application/json' }, payload: { requestingAppId: 'x' } });
    expect(badBody.statusCode).toBe(400);
    expectReadable(badBody, 'invalid body');
    const notJson = await served.t.app.inject({ method: 'POST', url: '/access', headers: { ...origin, 'content-type': 'application/json' }, payload: '{' });
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json()).toMatchObject({ id: 'invalid_json' });
    expectReadable(notJson, 'not JSON');
    const noToken = await served.t.app.inject({ method: 'GET', url: '/cors-user/access-info', headers: { ...origin, authorization: 'not-a-token' } });
    expect(noToken.statusCode).toBe(401);
    expect(noToken.headers['www-authenticate']).toMatch(/^Bearer /);
    expectReadable(noToken, 'access-info 401');
    expect(String(noToken.headers['access-control-expose-headers'])).toContain('www-authenticate');
  });

  it('the pages, the consent and sign-in posts, the JSON list of accesses and introspection stay same-origin: no CORS, even where the poll beside them has it', async () => {
    const { key } = await create();
    // The poll at /access/<key> is open...
    const poll = await served.t.app.inject({ method: 'OPTIONS', url: `/access/${key}`, headers: preflightHeaders('GET', 'prefer') });
    expect(poll.headers['access-control-allow-origin']).toBe('*');
    // ...but not the pages and forms the same path parameter would match, nor the others.
    const preflights: Array<[string, Method]> = [
      ['/access/auth', 'GET'],
      ['/access/auth', 'POST'],
      ['/access/auth/decide', 'POST'],
      ['/access/auth/signin', 'POST'],
      ['/access/introspect', 'POST'],
      ['/account/signin', 'POST'],
      ['/account/accesses', 'GET'],
      ['/api/v1/accesses', 'GET'],
      // A method the open routes do not take.
      ['/access', 'PUT'],
      [`/access/${key}`, 'POST'],
    ];
    for (const [url, method] of preflights) {
      const response = await served.t.app.inject({ method: 'OPTIONS', url, headers: preflightHeaders(method, 'content-type') });
      // What every other path answers: 204 with Allow, nothing that opens it.
      expect(response.statusCode, `${method} ${url}`).toBe(204);
      expect(response.headers.allow, `${method} ${url}`).toBe(ALLOW_BEFORE[url.startsWith('/access/') && url.length > 30 ? '/access/<key>' : url]);
      expect(corsHeadersOf(response), `${method} ${url}`).toEqual({});
    }
    const origin = { origin: APP_ORIGIN };
    for (const url of [`/access/auth?key=${key}`, '/account/signin', '/account/accesses']) {
      const response = await served.t.app.inject({ method: 'GET', url, headers: origin });
      expect(corsHeadersOf(response), url).toEqual({});
    }
    // The consent post from the app's origin, with the signed-in person's cookies and CSRF token:
    // refused by the CSRF checks, and not readable by that page.
    await served.user.get(`/access/auth?key=${key}`);
    const cookie = [...served.user.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const form = { ...origin, cookie, 'content-type': 'application/x-www-form-urlencoded' };
    const consent = await served.t.app.inject({ method: 'POST', url: '/access/auth/decide', headers: form, payload: new URLSearchParams({ _csrf: served.user.lastCsrf, key, decision: 'accept' }).toString() });
    expect(consent.statusCode).toBe(403);
    expect(consent.body).toContain('did not come from this site');
    expect(corsHeadersOf(consent)).toEqual({});
    const signin = await served.t.app.inject({ method: 'POST', url: '/access/auth/signin', headers: form, payload: new URLSearchParams({ _csrf: served.user.lastCsrf, key, login: 'cors-user', password: 'x' }).toString() });
    expect(signin.statusCode).toBe(403);
    expect(corsHeadersOf(signin)).toEqual({});
    // The person's own decision, from pairgate's page: no CORS either.
    const decided = await served.user.decide(key, 'refuse');
    expect(decided.status).toBe(200);
    expect((await served.user.get(`/access/auth?key=${key}`)).headers.get('access-control-allow-origin')).toBeNull();
    const introspect = await served.t.app.inject({ method: 'POST', url: '/access/introspect', headers: { ...origin, 'content-type': 'application/json' }, payload: { token: 'x' } });
    expect(introspect.statusCode).toBe(401);
    expect(corsHeadersOf(introspect)).toEqual({});
  });
});

describe('access door CORS: a rate-limited auth request is readable by the page', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ ...FAST, PAIRGATE_ACCESS_CREATE_PER_MINUTE: '1' });
  });
  afterAll(() => t.close());

  it('the 429 of POST /access carries Allow-Origin and exposes Retry-After', async () => {
    const post = () => t.app.inject({ method: 'POST', url: '/access', headers: { origin: APP_ORIGIN, 'content-type': 'application/json' }, payload: authRequest() });
    expect((await post()).statusCode).toBe(201);
    const refused = await post();
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBeDefined();
    expectReadable(refused, '429');
  });
});
