import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_FAILURES_PER_HOUR } from '../../../src/doors/device/admin-auth.js';
import { DEVICE_GRANT_TYPE } from '../../../src/doors/device/device-grant.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { createTestDatabase, createTestPrefix, postgresMissing, REDIS_URL, redisMissing } from '../../helpers/services.js';
import { FormClient } from '../access/form-client.js';
import { ADMIN_TOKEN, adminCall, decideInBrowser, INTROSPECTION_AUTH, INTROSPECTION_SECRET } from './device-helpers.js';

const noPostgres = await postgresMissing();
const noRedis = noPostgres ?? (await redisMissing());

/** POSTs a form and parses the JSON answer. */
async function postForm(url: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(fields) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/**
 * Clients registered through the admin API on two nodes sharing PostgreSQL (durable data, so the
 * `device_clients` table), with Redis for grants and ephemeral entries or without it (PostgreSQL
 * holds those too). No client is configured: every one the nodes know comes from the API, and no
 * node caches them, so a change on one node holds on the other at its next request.
 */
describe.each([
  { stores: 'PostgreSQL and Redis', skip: noRedis, redis: true },
  { stores: 'PostgreSQL alone', skip: noPostgres, redis: false },
])('device client admin API on two nodes ($stores)', ({ skip, redis }) => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let prefix: ReturnType<typeof createTestPrefix> | undefined;
  let a: TestApp;
  let b: TestApp;
  let baseA: string;
  let baseB: string;
  const password = 'two node admin password';
  beforeAll(async () => {
    if (skip) return;
    database = await createTestDatabase();
    prefix = redis ? createTestPrefix() : undefined;
    const env = {
      PAIRGATE_SCRYPT_COST: '10',
      PAIRGATE_DEVICE_ADMIN_TOKEN: ADMIN_TOKEN,
      PAIRGATE_DEVICE_INTROSPECTION_SECRET: INTROSPECTION_SECRET,
      PAIRGATE_DATABASE_URL: database.url,
      ...(prefix ? { PAIRGATE_REDIS_URL: REDIS_URL, PAIRGATE_REDIS_PREFIX: prefix.prefix } : {}),
    };
    a = await createTestApp(env);
    baseA = await a.listen();
    b = await createTestApp(env);
    baseB = await b.listen();
    await new FormClient(baseA).register('two-node-admin', password);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await prefix?.cleanup();
    await database?.drop();
  });

  const token = (base: string, deviceCode: string, clientId: string) => postForm(`${base}/oauth/token`, { grant_type: DEVICE_GRANT_TYPE, device_code: deviceCode, client_id: clientId });

  it.skipIf(Boolean(skip))('a client registered on A runs a device flow on B (approved on A); deleted on B, A refuses it at once', async () => {
    expect((await postForm(`${baseB}/oauth/device_authorization`, { client_id: 'shared-tv' })).body.error).toBe('invalid_client');
    expect(await (await fetch(`${baseB}/`)).text()).not.toContain('Connect a device');

    expect((await adminCall(baseA, 'PUT', '/shared-tv', { name: 'Shared TV', scopes: ['watch'] })).status).toBe(201);
    expect((await adminCall(baseB, 'GET', '/shared-tv')).body).toMatchObject({ client_id: 'shared-tv', name: 'Shared TV', source: 'api' });
    expect(await (await fetch(`${baseB}/`)).text()).toContain('Connect a device');

    const device = (await postForm(`${baseB}/oauth/device_authorization`, { client_id: 'shared-tv' })).body as { device_code: string; user_code: string };
    expect(device.user_code).toBeTruthy();
    const { consent, done } = await decideInBrowser(baseA, device.user_code, 'two-node-admin', password);
    expect(consent).toContain('Shared TV');
    expect(done).toContain('data-outcome="approved"');
    const answer = await token(baseB, device.device_code, 'shared-tv');
    expect(answer).toMatchObject({ status: 200, body: { scope: 'watch' } });
    const accessToken = String(answer.body.access_token);
    expect((await postForm(`${baseA}/oauth/introspect`, { token: accessToken }, INTROSPECTION_AUTH)).body).toMatchObject({ active: true, client_id: 'shared-tv' });

    const pending = (await postForm(`${baseA}/oauth/device_authorization`, { client_id: 'shared-tv' })).body as { device_code: string };
    expect((await adminCall(baseB, 'DELETE', '/shared-tv')).status).toBe(204);
    expect(await token(baseA, pending.device_code, 'shared-tv')).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect((await postForm(`${baseA}/oauth/introspect`, { token: accessToken }, INTROSPECTION_AUTH)).body).toEqual({ active: false });
    expect((await adminCall(baseA, 'GET', '/shared-tv')).status).toBe(404);
    expect(await (await fetch(`${baseA}/`)).text()).not.toContain('Connect a device');
  });

  it.skipIf(Boolean(skip))('the wrong-token budget is shared: spent on A, B refuses the same address too', async () => {
    for (let i = 0; i < ADMIN_FAILURES_PER_HOUR; i++) expect((await adminCall(baseA, 'GET', '', undefined, `wrong-${i}`)).status).toBe(401);
    expect((await adminCall(baseB, 'GET', '')).status).toBe(429);
  });
});
