import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { authRequest } from '../access/form-client.js';
import { DEVICE_ENV } from '../device/device-helpers.js';
import { ADMIN_AUTH, useSupportServers } from '../support/helpers.js';

/**
 * Every route that honours `Prefer: wait` through the shared helper (waiting.ts) says which wait it
 * applied (`Preference-Applied`, RFC 7240 3) and varies by Prefer, over real sockets: the access
 * door's poll, the device door's held token request (an error answer: the header survives the
 * error handler) and the support door's session read. The generic grants have their own suite.
 */

/** The headers that matter here, and how long the answer took. */
async function preferenceOf(answer: Promise<Response>): Promise<{ status: number; applied: string | null; vary: string | null; ms: number }> {
  const started = Date.now();
  const response = await answer;
  await response.arrayBuffer();
  return { status: response.status, applied: response.headers.get('preference-applied'), vary: response.headers.get('vary'), ms: Date.now() - started };
}

const VARIES_BY_PREFER = expect.stringMatching(/(^|,\s*)prefer(\s*,|$)/i);

describe('Preference-Applied on the access and device doors', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp({ ...DEVICE_ENV, PAIRGATE_WAIT_MAX_SECONDS: '1', PAIRGATE_DEVICE_LONG_POLL: 'true', PAIRGATE_DEVICE_LONG_POLL_SECONDS: '1' });
    base = await t.listen();
  });
  afterAll(() => t.close());

  it('GET /access/:key: the applied wait, bounded by the server', async () => {
    const created = (await (await fetch(`${base}/access`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(authRequest()) })).json()) as { poll: string };
    const held = await preferenceOf(fetch(created.poll, { headers: { prefer: 'wait=30' } }));
    expect(held).toMatchObject({ status: 201, applied: 'wait=1', vary: VARIES_BY_PREFER });
    expect(held.ms).toBeGreaterThanOrEqual(900);
    expect(await preferenceOf(fetch(created.poll))).toMatchObject({ status: 201, applied: null, vary: VARIES_BY_PREFER });
    // An unknown key is answered at once: nothing was held.
    expect(await preferenceOf(fetch(`${base}/access/AAAAAAAAAAAAAAAAAAAAAA`, { headers: { prefer: 'wait=30' } }))).toMatchObject({ status: 404, applied: null });
  });

  it('POST /oauth/token held: the applied wait on the authorization_pending answer (an error: the header survives the error handler)', async () => {
    const form = (path: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
      fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(fields) });
    const device = (await (await form('/oauth/device_authorization', { client_id: 'tv-app' })).json()) as { device_code: string };
    const fields = { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: device.device_code, client_id: 'tv-app' };
    const asked = await preferenceOf(form('/oauth/token', fields, { prefer: 'wait=0' }));
    expect(asked).toMatchObject({ status: 400, applied: 'wait=0', vary: VARIES_BY_PREFER });
  });

  it('POST /oauth/token without Prefer holds the configured time and claims no preference', async () => {
    const form = (fields: Record<string, string>) =>
      fetch(`${base}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) });
    const device = (await (await fetch(`${base}/oauth/device_authorization`, { method: 'POST', body: new URLSearchParams({ client_id: 'tv-app' }) })).json()) as { device_code: string };
    const held = await preferenceOf(form({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: device.device_code, client_id: 'tv-app' }));
    expect(held).toMatchObject({ status: 400, applied: null, vary: VARIES_BY_PREFER });
    expect(held.ms).toBeGreaterThanOrEqual(900);
  });
});

describe('Preference-Applied on the support door', () => {
  const servers = useSupportServers();

  it('GET /session/:id: the applied wait, bounded by the server', async () => {
    await servers.sdk.createSession({ id: 'prefer-wait', supporterName: 'Thorsten', supporterAvatar: 'https://img.example/t.png' });
    const url = `${servers.origin.url}/session/prefer-wait`;
    const held = await preferenceOf(fetch(url, { headers: { authorization: ADMIN_AUTH, prefer: 'wait=1' } }));
    expect(held).toMatchObject({ status: 200, applied: 'wait=1', vary: VARIES_BY_PREFER });
    expect(await preferenceOf(fetch(`${url}?wait=0`, { headers: { authorization: ADMIN_AUTH, prefer: 'wait=1' } }))).toMatchObject({ status: 200, applied: null, vary: VARIES_BY_PREFER });
  });
});
