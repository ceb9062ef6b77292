import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { callRequest, FakeMattermost, INSTALL_ENV, installationIdOf, Member, mattermostId, mattermostJwt, type MattermostUser } from './install-helpers.js';

/** A raw request over the socket, its body parsed when it is JSON. */
async function send(base: string, method: string, path: string, init: { headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(`${base}${path}`, { method, headers: init.headers ?? {}, ...(init.body !== undefined ? { body: init.body } : {}) });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // a page: keep the text
  }
  return { status: response.status, body, headers: response.headers };
}

describe('install door: a path or method no callback serves, answered in the connector\'s shape (real sockets)', () => {
  let t: TestApp;
  let base: string;
  let clock: ManualClock;
  let id: string;
  let secret: string;
  let webhookId: string;
  const user: MattermostUser = { id: mattermostId('unknowncalluser'), username: 'ada' };

  beforeAll(async () => {
    clock = new ManualClock(Date.now());
    t = await createTestApp({ ...INSTALL_ENV }, { clock });
    base = await t.listen();
    const admin = await Member.create(base, 'unknown-admin');
    const orgId = await admin.createOrg('Acme');
    const setup = await admin.setup(orgId);
    id = installationIdOf(setup.body.manifest_link);
    secret = setup.body.jwt_secret;
    expect((await new FakeMattermost(base, clock).install(id, secret, user)).status).toBe(200);
    webhookId = /\/webhook\/([^/]+)\/command$/.exec((await admin.setup(orgId, 'webhook')).body.command_url)![1]!;
  });
  afterAll(() => t.close());

  /** A signed Mattermost call to any path, as Mattermost would send it. */
  const signedCall = async (method: string, path: string, body = JSON.stringify(callRequest(path, user)), contentType = 'application/json') =>
    send(base, method, path, { headers: { 'content-type': contentType, 'mattermost-app-authorization': `Bearer ${await mattermostJwt(secret, user.id, clock)}` }, body });

  /** Expects a Mattermost error call response with `code` and the machine security headers. */
  const expectCallError = (answer: Awaited<ReturnType<typeof send>>, status: number, code: string) => {
    expect(answer.status).toBe(status);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    expect(answer.body).toEqual({ type: 'error', text: expect.any(String), data: { error: code } });
    // The headers of the callback routes: machine answers, never cached.
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
  };

  it('a call pairgate does not serve is a 404 call response that lists the calls it does', async () => {
    const answer = await signedCall('POST', `/mattermost/${id}/frobnicate`);
    expectCallError(answer, 404, 'route_not_found');
    expect(answer.body.text).toBe(`pairgate has no Mattermost call at POST /mattermost/${id}/frobnicate. It answers POST /mattermost/<installation id>/{install,uninstall,bindings,ping,link,unlink,status,help} and GET /mattermost/<installation id>/manifest.json (the link a setup shows).`);
    // Deeper paths and the prefix itself too, whatever the Accept header says.
    expectCallError(await send(base, 'GET', `/mattermost/${id}/link/extra`), 404, 'route_not_found');
    expectCallError(await send(base, 'GET', '/mattermost'), 404, 'route_not_found');
    expectCallError(await send(base, 'GET', '/mattermost/', { headers: { accept: 'text/html' } }), 404, 'route_not_found');
  });

  it('a call sent with the wrong method says calls are POST; the manifest says it is read with GET', async () => {
    for (const call of ['install', 'bindings', 'link', 'status']) {
      const answer = await send(base, 'GET', `/mattermost/${id}/${call}?token=x`);
      expectCallError(answer, 404, 'route_not_found');
      // The query is not echoed (it may hold what was meant to stay out of sight).
      expect(answer.body.text).toBe(`Mattermost calls are POST requests: there is nothing at GET /mattermost/${id}/${call}.`);
    }
    expectCallError(await signedCall('PUT', `/mattermost/${id}/link`), 404, 'route_not_found');
    const manifest = await send(base, 'POST', `/mattermost/${id}/manifest.json`);
    expectCallError(manifest, 404, 'route_not_found');
    expect(manifest.body.text).toBe(`The app manifest is read with GET: there is nothing at POST /mattermost/${id}/manifest.json.`);
  });

  it('a wrong path is said before a wrong body: bad JSON, a form or no content type still get the 404', async () => {
    expectCallError(await signedCall('POST', `/mattermost/${id}/frob`, '{not json'), 404, 'route_not_found');
    expectCallError(await signedCall('POST', `/mattermost/${id}/frob`, 'a=b', 'application/x-www-form-urlencoded'), 404, 'route_not_found');
    expectCallError(await send(base, 'POST', `/mattermost/${id}/frob`, { body: 'x' }), 404, 'route_not_found');
    // A body larger than a call's limit is refused in the same shape.
    expectCallError(await signedCall('POST', `/mattermost/${id}/frob`, JSON.stringify({ pad: 'x'.repeat(70_000) })), 413, 'payload_too_large');
  });

  it('a very long unknown path is cut in the message', async () => {
    const answer = await send(base, 'GET', `/mattermost/${id}/${'a'.repeat(50)}/${'b'.repeat(400)}`);
    expectCallError(answer, 404, 'route_not_found');
    expect(answer.body.text.length).toBeLessThan(500);
    expect(answer.body.text).toContain('…');
  });

  it('a missing or bad call token is refused as a call response too', async () => {
    const body = JSON.stringify(callRequest(`/mattermost/${id}/status`, user));
    expectCallError(await send(base, 'POST', `/mattermost/${id}/status`, { headers: { 'content-type': 'application/json' }, body }), 401, 'jwt_missing');
    expectCallError(await send(base, 'POST', `/mattermost/${id}/status`, { headers: { 'content-type': 'application/json', 'mattermost-app-authorization': 'Bearer nope' }, body }), 401, 'jwt_malformed');
    const wrong = await mattermostJwt('not-the-secret', user.id, clock);
    expectCallError(await send(base, 'POST', `/mattermost/${id}/status`, { headers: { 'content-type': 'application/json', 'mattermost-app-authorization': `Bearer ${wrong}` }, body }), 401, 'jwt_signature_invalid');
    // The calls themselves still answer.
    expect((await signedCall('POST', `/mattermost/${id}/status`)).body.type).toBe('ok');
    expect((await send(base, 'GET', `/mattermost/${id}/manifest.json`)).status).toBe(200);
  });

  it('the signed webhook\'s prefix answers in its own shape', async () => {
    const answer = await send(base, 'GET', `/webhook/${webhookId}/command`);
    expect(answer.status).toBe(404);
    expect(answer.body).toEqual({ ok: false, error: 'route_not_found', text: `Webhook calls are signed POST requests: there is nothing at GET /webhook/${webhookId}/command.` });
    const unknown = await send(base, 'POST', `/webhook/${webhookId}/frob`, { headers: { 'content-type': 'application/json' }, body: '{' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe('route_not_found');
    expect(unknown.body.text).toContain('POST /webhook/<installation id>/command');
  });

  it('every other path keeps the server\'s own 404: JSON for programs, the page for a browser', async () => {
    for (const path of ['/nope', '/mattermostx', '/api/v1/mattermost/x']) {
      const answer = await send(base, 'GET', path);
      expect(answer.status).toBe(404);
      expect(answer.body).toEqual({ error: 'route_not_found', message: `There is nothing at GET ${path}.` });
    }
    const page = await send(base, 'GET', '/nope', { headers: { accept: 'text/html' } });
    expect(page.status).toBe(404);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  });
});

describe('install door: what the router refuses before any route, under a connector\'s prefix, in the connector\'s shape (real sockets)', () => {
  let t: TestApp;
  let base: string;

  beforeAll(async () => {
    t = await createTestApp({ ...INSTALL_ENV });
    base = await t.listen();
  });
  afterAll(() => t.close());

  const malformed = '%E0%A4%A';
  const overLong = 'a'.repeat(150);

  it('a malformed %-escape under /mattermost is a 400 bad_url call response, with the machine headers', async () => {
    for (const path of [`/mattermost/${malformed}/link`, `/mattermost/${malformed}/manifest.json`, `/mattermost/x${malformed}/nope`]) {
      const answer = await send(base, 'POST', path, { headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(answer.status, path).toBe(400);
      expect(answer.body).toEqual({ type: 'error', text: 'This address has a malformed %-escape. Check the link.', data: { error: 'bad_url' } });
      expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
      expect(answer.headers.get('cache-control')).toBe('no-store');
      expect(answer.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
    }
  });

  it('an installation id over the router\'s length limit under /mattermost is a 414 uri_too_long call response', async () => {
    for (const [method, path] of [['POST', `/mattermost/${overLong}/link`], ['GET', `/mattermost/${overLong}/manifest.json`]] as const) {
      const answer = await send(base, method, path, method === 'POST' ? { headers: { 'content-type': 'application/json' }, body: '{}' } : {});
      expect(answer.status, path).toBe(414);
      expect(answer.body).toEqual({ type: 'error', text: 'A part of this address is too long to be anything here. Check the link.', data: { error: 'uri_too_long' } });
      expect(answer.headers.get('cache-control')).toBe('no-store');
    }
  });

  it('the signed webhook\'s prefix answers them in its own shape', async () => {
    const bad = await send(base, 'POST', `/webhook/${malformed}/command`, { headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ ok: false, error: 'bad_url', text: 'This address has a malformed %-escape. Check the link.' });
    const long = await send(base, 'POST', `/webhook/${overLong}/install`, { headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(long.status).toBe(414);
    expect(long.body).toEqual({ ok: false, error: 'uri_too_long', text: 'A part of this address is too long to be anything here. Check the link.' });
  });

  it('a prefix written with escapes of plain letters (which the router decodes) is still the connector\'s', async () => {
    const answer = await send(base, 'POST', `/%6Dattermost/${malformed}/link`, { headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ type: 'error', text: expect.any(String), data: { error: 'bad_url' } });
  });

  it('outside the prefixes they stay in pairgate\'s shape', async () => {
    for (const path of [`/api/v1/grants/${malformed}`, `/mattermostx/${malformed}`, `/api/v1/mattermost/${malformed}`]) {
      const answer = await send(base, 'GET', path);
      expect(answer.status, path).toBe(400);
      expect(answer.body).toEqual({ error: 'bad_url', message: 'This address has a malformed %-escape. Check the link.' });
    }
    const long = await send(base, 'GET', `/api/v1/grants/${overLong}`);
    expect(long.status).toBe(414);
    expect(long.body).toEqual({ error: 'uri_too_long', message: 'A part of this address is too long to be anything here. Check the link.' });
  });
});
