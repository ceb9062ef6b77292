import { describe, expect, it } from 'vitest';
import { DEVICE_GRANT_TYPE, DEVICE_KIND } from '../../../src/doors/device/device-grant.js';
import { storeSetups } from '../../helpers/services.js';
import { listeningNodes } from '../../helpers/setup-nodes.js';
import { ADMIN_TOKEN, adminCall, DEVICE_ENV } from './device-helpers.js';

/** POSTs a form over the socket and parses the JSON answer. */
async function postForm(url: string, fields: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const ENV = { ...DEVICE_ENV, PAIRGATE_DEVICE_ADMIN_TOKEN: ADMIN_TOKEN, PAIRGATE_RATE_LIMIT_MAX: '100000', PAIRGATE_DEVICE_MAX_PENDING_PER_IP: '2' };

const setups = await storeSetups();

/**
 * The pending device authorizations of a client deleted through the admin API: their devices are
 * told invalid_client (or invalid_grant, once the client is registered again), which ends their
 * polling, and the authorizations end then too, leaving the server's waiting places and their
 * network's. They went on holding both until they expired, so deleting a client left its devices'
 * networks unable to start another authorization for up to PAIRGATE_DEVICE_EXPIRES_IN_SECONDS.
 */
for (const setup of setups) describe.skipIf(Boolean(setup.skip))(`pending authorizations of a deleted client, ${setup.name}${setup.skip ? ` (skipped: ${setup.skip})` : ''}`, () => {
  const { nodes, baseFor } = listeningNodes(setup, ENV);
  const start = (i: number, clientId: string) => postForm(`${baseFor(i)}/oauth/device_authorization`, { client_id: clientId });
  const poll = (i: number, deviceCode: string, clientId: string) => postForm(`${baseFor(i)}/oauth/token`, { grant_type: DEVICE_GRANT_TYPE, device_code: deviceCode, client_id: clientId });
  const waiting = () => nodes[0]!.app.pairgate.stores.grants.countPending(DEVICE_KIND, Date.now());
  const state = async (deviceCode: string) => (await nodes[1 % nodes.length]!.app.pairgate.engine.get(deviceCode.split('.')[0]!))?.state;

  it('the first poll after the deletion ends the authorization: it leaves the server\'s waiting places and its network\'s, and later polls are told the same', async () => {
    expect((await adminCall(baseFor(0), 'PUT', '/gone-app', { name: 'Gone app' })).status).toBe(201);
    const codes = await Promise.all([start(0, 'gone-app'), start(1, 'gone-app')]);
    const [first, second] = codes.map((answer) => String(answer.body.device_code));
    expect(await waiting()).toBe(2);
    // The network holds its 2 places.
    expect((await start(0, 'cli')).body).toMatchObject({ error: 'rate_limited', pairgate_error: 'too_many_pending' });
    expect((await adminCall(baseFor(1), 'DELETE', '/gone-app')).status).toBe(204);
    expect((await poll(1, first!, 'gone-app'))).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(await state(first!)).toBe('refused');
    expect(await waiting()).toBe(1);
    // Its place given back: the network may start one again.
    const other = await start(0, 'cli');
    expect(other.status).toBe(200);
    // Presented with an unknown client_id while its own client lives, a code is not ended.
    expect((await poll(1, String(other.body.device_code), 'no-such-client')).body).toMatchObject({ error: 'invalid_client' });
    expect(await state(String(other.body.device_code))).toBe('pending');
    // Registered again: a new client, whose poll with an older code ends that code too.
    expect((await adminCall(baseFor(0), 'PUT', '/gone-app', { name: 'Gone app, again' })).status).toBe(201);
    expect((await poll(0, second!, 'gone-app'))).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(await state(second!)).toBe('refused');
    expect(await waiting()).toBe(1);
    expect((await start(1, 'cli')).status).toBe(200);
    // Later polls: the same answers as before.
    expect((await poll(1, second!, 'gone-app')).body).toMatchObject({ error: 'invalid_grant' });
    expect((await adminCall(baseFor(1), 'DELETE', '/gone-app')).status).toBe(204);
    expect((await poll(0, first!, 'gone-app')).body).toMatchObject({ error: 'invalid_client' });
  });
});
