import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVICE_GRANT_TYPE } from '../../../src/doors/device/device-grant.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { FormClient } from '../access/form-client.js';
import { ADMIN_TOKEN, adminCall, DEVICE_ENV } from './device-helpers.js';

/** POSTs a form over the socket and parses the JSON answer. */
async function postForm(url: string, fields: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/**
 * A device authorization whose client the admin narrowed (PUT on the admin API) after the device
 * asked: the device's poll is told invalid_scope, which ends its polling, and so ends the
 * authorization too, over a real socket and the real SQLite stores.
 */
describe('device authorization withdrawn when its client\'s scopes are narrowed', () => {
  let t: TestApp;
  let base: string;
  const password = 'withdrawn scope password';
  beforeAll(async () => {
    t = await createTestApp({ ...DEVICE_ENV, PAIRGATE_DEVICE_ADMIN_TOKEN: ADMIN_TOKEN, PAIRGATE_RATE_LIMIT_MAX: '100000' });
    base = await t.listen();
    await new FormClient(base).register('admin-api-owner', password);
  });
  afterAll(() => t.close());

  const startDevice = async (clientId: string, scope: string) => postForm(`${base}/oauth/device_authorization`, { client_id: clientId, scope });
  const token = (deviceCode: string, clientId: string) => postForm(`${base}/oauth/token`, { grant_type: DEVICE_GRANT_TYPE, device_code: deviceCode, client_id: clientId });

  it('narrowing a client\'s scopes: the device told invalid_scope ends its authorization, which leaves its network\'s places and can no longer be approved, widened again or not', async () => {
    await adminCall(base, 'PUT', '/withdrawn', { name: 'Wide app', scopes: ['read', 'admin'] });
    const places = async () => (await t.app.pairgate.stores.ephemeral.list('device|pending|', Date.now())).length;
    const before = await places();
    const asked = (await startDevice('withdrawn', 'read admin')).body as { device_code: string; user_code: string };
    const grantId = asked.device_code.split('.')[0]!;
    expect(await places()).toBe(before + 1);
    // A person types the code and signs in, then the admin narrows the client.
    const browser = new FormClient(base);
    await browser.get('/device');
    const typed = await browser.post('/device', { user_code: asked.user_code });
    expect((await browser.post('/device/signin', { key: grantId, login: 'admin-api-owner', password })).status).toBe(303);
    expect((await adminCall(base, 'PUT', '/withdrawn', { name: 'Wide app', scopes: ['read'] })).status).toBe(200);
    // The device's poll is told, and its authorization ends: no longer waiting, its network's place given back.
    expect((await token(asked.device_code, 'withdrawn')).body).toMatchObject({ error: 'invalid_scope', error_description: expect.stringContaining('admin') });
    expect((await t.app.pairgate.engine.get(grantId))?.state).toBe('refused');
    expect(await places()).toBe(before);
    // Widened again, it stays ended: the device stopped polling, so an approval would reach no one.
    expect((await adminCall(base, 'PUT', '/withdrawn', { name: 'Wide app, again', scopes: ['read', 'admin'] })).status).toBe(200);
    const page = await browser.get(typed.location!);
    expect(page.status).toBe(410);
    expect(page.text).toContain('data-code="device_scope_withdrawn"');
    expect(page.text).toContain('Wide app, again');
    expect(page.text).not.toContain('name="decision"');
    const approval = await browser.post('/device/decide', { key: grantId, decision: 'approve' });
    expect(approval.status).toBe(410);
    expect(approval.text).not.toContain('data-outcome');
    // A device that polls again is told the same.
    expect((await token(asked.device_code, 'withdrawn')).body).toMatchObject({ error: 'invalid_scope', error_description: expect.stringContaining('admin') });
      });

});
