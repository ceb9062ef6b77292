import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { authRequest } from '../access/form-client.js';
import { DEVICE_ENV } from '../device/device-helpers.js';
import { ADMIN_AUTH, useSupportServers } from '../support/helpers.js';

/**
 * Every route that waits when a client asks with `Prefer: wait=<s>` (waiting.ts) declares the
 * header, so the OpenAPI document shows it (the grants' long-poll, the access poll, the support
 * session read, the device token request where the server holds it); and declaring it changes no
 * answer: `Prefer: wait=1` is applied as before, and a wait the server does not understand, or a
 * long Prefer header, is ignored (RFC 7240 2), never refused.
 */

/** The OpenAPI parameter `prefer` in the header of `method` `path`, if declared. */
function preferParameter(doc: any, path: string, method: string): { description?: string } | undefined {
  return (doc.paths[path][method].parameters ?? []).find((parameter: { in: string; name: string }) => parameter.in === 'header' && parameter.name === 'prefer');
}

/** What matters of an answer here. */
async function answerOf(answer: Promise<Response>): Promise<{ status: number; applied: string | null }> {
  const response = await answer;
  await response.arrayBuffer();
  return { status: response.status, applied: response.headers.get('preference-applied') };
}

/** Prefer headers that ask for no wait the server understands: each is ignored. */
const NOT_UNDERSTOOD = ['wait=abc', 'wait=-1', 'wait=1.5', 'respond-async; wait=x', `return=minimal, ${'x'.repeat(500)}`];

describe('Prefer: wait declared on the routes that read it', () => {
  let t: TestApp;
  let base: string;
  let doc: any;
  beforeAll(async () => {
    t = await createTestApp({ ...DEVICE_ENV, PAIRGATE_WAIT_MAX_SECONDS: '1', PAIRGATE_DEVICE_LONG_POLL: 'true', PAIRGATE_DEVICE_LONG_POLL_SECONDS: '1' });
    base = await t.listen();
    doc = (await t.app.inject('/docs/json')).json();
  });
  afterAll(() => t.close());

  it('the OpenAPI document lists the prefer header on each, the same words where ?wait= is its other spelling', () => {
    const grants = preferParameter(doc, '/api/v1/grants/{id}', 'get');
    const access = preferParameter(doc, '/access/{key}', 'get');
    const device = preferParameter(doc, '/oauth/token', 'post');
    for (const parameter of [grants, access, device]) {
      expect(parameter?.description).toMatch(/^wait=S: /);
      expect(parameter?.description).toContain('Preference-Applied: wait=<seconds>');
    }
    expect(access).toEqual(grants);
    expect(grants!.description).toContain('the same as ?wait=S when there is no ?wait');
    expect(device!.description).toContain('hold a pending request at most S seconds rather than this server\'s 1');
  });

  it('the ?wait= parameter names the error a bad wait gets (the support door\'s below)', () => {
    for (const [path, method] of [['/api/v1/grants/{id}', 'get'], ['/access/{key}', 'get']] as const) {
      const wait = (doc.paths[path]?.[method]?.parameters ?? []).find((parameter: { in: string; name: string }) => parameter.in === 'query' && parameter.name === 'wait');
      expect(wait?.description, path).toContain('400 invalid_wait');
    }
  });

  it('says no wait was applied when nothing was held: an unknown id is answered at once without Preference-Applied, as the header says', async () => {
    expect(preferParameter(doc, '/api/v1/grants/{id}', 'get')?.description).toContain('an unknown id');
    expect(await answerOf(fetch(`${base}/api/v1/grants/01a23a0ba569hDAwLlVRDTKkmXaLEZkEww`, { headers: { prefer: 'wait=1' } }))).toEqual({ status: 404, applied: null });
  });

  it('GET /api/v1/grants/:id: wait=1 applied; a wait not understood ignored', async () => {
    const { id } = (await (await fetch(`${base}/api/v1/grants`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"label":"prefer"}' })).json()) as { id: string };
    expect(await answerOf(fetch(`${base}/api/v1/grants/${id}`, { headers: { prefer: 'wait=1' } }))).toEqual({ status: 200, applied: 'wait=1' });
    for (const prefer of NOT_UNDERSTOOD) expect(await answerOf(fetch(`${base}/api/v1/grants/${id}`, { headers: { prefer } })), prefer).toEqual({ status: 200, applied: null });
  });

  it('GET /access/:key: wait=1 applied; a wait not understood ignored', async () => {
    const { poll } = (await (await fetch(`${base}/access`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(authRequest()) })).json()) as { poll: string };
    expect(await answerOf(fetch(poll, { headers: { prefer: 'wait=1' } }))).toEqual({ status: 201, applied: 'wait=1' });
    for (const prefer of NOT_UNDERSTOOD) expect(await answerOf(fetch(poll, { headers: { prefer } })), prefer).toEqual({ status: 201, applied: null });
  });

  it('POST /oauth/token, held: wait=1 applied; a wait not understood ignored (the server\'s own hold)', async () => {
    // A fresh device code each time: polling one faster than its interval is answered slow_down.
    const tokenRequest = async (prefer: string) => {
      const device = (await (await fetch(`${base}/oauth/device_authorization`, { method: 'POST', body: new URLSearchParams({ client_id: 'tv-app' }) })).json()) as { device_code: string };
      const fields = { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: device.device_code, client_id: 'tv-app' };
      return answerOf(fetch(`${base}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', prefer }, body: new URLSearchParams(fields) }));
    };
    expect(await tokenRequest('wait=1')).toEqual({ status: 400, applied: 'wait=1' });
    for (const prefer of ['wait=abc', `return=minimal, ${'x'.repeat(500)}`]) expect(await tokenRequest(prefer), prefer).toEqual({ status: 400, applied: null });
  });
});

describe('Prefer: wait on POST /oauth/token where the server does not hold token requests', () => {
  it('is not declared: the route does not read it', async () => {
    const t = await createTestApp(DEVICE_ENV);
    try {
      const doc = (await t.app.inject('/docs/json')).json();
      expect(preferParameter(doc, '/oauth/token', 'post')).toBeUndefined();
    } finally {
      await t.close();
    }
  });
});

describe('Prefer: wait declared on the support door\'s session read', () => {
  const servers = useSupportServers();

  it('GET /session/:id: in the OpenAPI document; wait=1 applied; a wait not understood ignored', async () => {
    const doc = (await servers.origin.app.inject('/docs/json')).json();
    expect(preferParameter(doc, '/session/{id}', 'get')?.description).toContain('the same as ?wait=S when there is no ?wait');
    const wait = (doc.paths['/session/{id}'].get.parameters ?? []).find((parameter: { in: string; name: string }) => parameter.in === 'query' && parameter.name === 'wait');
    expect(wait?.description).toContain('400 invalid_wait');
    await servers.sdk.createSession({ id: 'prefer-declared', supporterName: 'Thorsten', supporterAvatar: 'https://img.example/t.png' });
    const url = `${servers.origin.url}/session/prefer-declared`;
    expect(await answerOf(fetch(url, { headers: { authorization: ADMIN_AUTH, prefer: 'wait=1' } }))).toEqual({ status: 200, applied: 'wait=1' });
    for (const prefer of NOT_UNDERSTOOD) expect(await answerOf(fetch(url, { headers: { authorization: ADMIN_AUTH, prefer } })), prefer).toEqual({ status: 200, applied: null });
  });
});
