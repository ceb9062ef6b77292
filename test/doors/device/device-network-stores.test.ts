import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVICE_GRANT_TYPE } from '../../../src/doors/device/device-grant.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { createTestDatabase, createTestPrefix, postgresMissing, REDIS_URL, redisMissing } from '../../helpers/services.js';
import { FormClient } from '../access/form-client.js';
import { CLIENTS, INTROSPECTION_AUTH, INTROSPECTION_SECRET } from './device-helpers.js';

const skip = (await postgresMissing()) ?? (await redisMissing());

/** POSTs a form and parses the JSON answer. */
async function postForm(url: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(fields) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/**
 * The device door on the multi-node stores: tokens and accounts in PostgreSQL, grants, poll pacing,
 * code budgets and wake-ups in Redis. Two nodes share them: a device starts on one, the person
 * approves on the other, and whatever node the device polls answers the same.
 */
describe.skipIf(skip)('device door on PostgreSQL and Redis, two nodes', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let prefix: ReturnType<typeof createTestPrefix>;
  let a: TestApp;
  let b: TestApp;
  let baseA: string;
  let baseB: string;
  const password = 'two node password';
  beforeAll(async () => {
    database = await createTestDatabase();
    prefix = createTestPrefix();
    const env = { PAIRGATE_SCRYPT_COST: '10', PAIRGATE_DEVICE_CLIENTS: CLIENTS, PAIRGATE_DEVICE_INTROSPECTION_SECRET: INTROSPECTION_SECRET, PAIRGATE_DEVICE_LONG_POLL: 'true', PAIRGATE_DATABASE_URL: database.url, PAIRGATE_REDIS_URL: REDIS_URL, PAIRGATE_REDIS_PREFIX: prefix.prefix };
    a = await createTestApp(env);
    baseA = await a.listen();
    b = await createTestApp(env);
    baseB = await b.listen();
    await new FormClient(baseB).register('two-node-device', password);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await prefix?.cleanup();
    await database?.drop();
  });

  const token = (base: string, deviceCode: string, headers: Record<string, string> = {}) =>
    postForm(`${base}/oauth/token`, { grant_type: DEVICE_GRANT_TYPE, device_code: deviceCode, client_id: 'cli' }, headers);

  it('started on A, approved on B: a long-poll on A wakes at once; the device code works once across both nodes', async () => {
    const device = (await postForm(`${baseA}/oauth/device_authorization`, { client_id: 'cli', scope: 'read' })).body as { device_code: string; user_code: string };
    const held = token(baseA, device.device_code, { prefer: 'wait=20' }).then((answer) => ({ ...answer, at: performance.now() }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const browser = new FormClient(baseB);
    await browser.get('/device');
    const typed = await browser.post('/device', { user_code: device.user_code });
    expect(typed.status).toBe(303);
    const signin = await browser.get(typed.location!);
    const key = /name="key" value="([^"]+)"/.exec(signin.text)![1]!;
    const signedIn = await browser.post('/device/signin', { key, login: 'two-node-device', password });
    await browser.get(signedIn.location!);
    const approvedAt = performance.now();
    expect((await browser.post('/device/decide', { key, decision: 'approve' })).text).toContain('data-outcome="approved"');
    const answer = await held;
    expect(answer.status).toBe(200);
    expect(answer.at - approvedAt).toBeLessThan(3_000);
    // Already redeemed on A: B says so too.
    expect((await token(baseB, device.device_code)).body.error).toBe('invalid_grant');
    const accessToken = String(answer.body.access_token);
    for (const base of [baseA, baseB]) expect((await postForm(`${base}/oauth/introspect`, { token: accessToken }, INTROSPECTION_AUTH)).body).toMatchObject({ active: true, username: 'two-node-device', scope: 'read' });
    expect((await postForm(`${baseB}/oauth/revoke`, { token: accessToken, client_id: 'cli' })).status).toBe(200);
    expect((await postForm(`${baseA}/oauth/introspect`, { token: accessToken }, INTROSPECTION_AUTH)).body).toEqual({ active: false });
  });

  it('the poll pace is shared: polling A then B at once is slow_down', async () => {
    const device = (await postForm(`${baseA}/oauth/device_authorization`, { client_id: 'cli' })).body as { device_code: string };
    expect((await token(baseA, device.device_code, { prefer: 'wait=0' })).body.error).toBe('authorization_pending');
    expect((await token(baseB, device.device_code, { prefer: 'wait=0' })).body).toMatchObject({ error: 'slow_down', interval: 10 });
  });

  it('50 concurrent token requests spread over both nodes: exactly one access token', async () => {
    const device = (await postForm(`${baseA}/oauth/device_authorization`, { client_id: 'cli' })).body as { device_code: string };
    const owner = await b.app.pairgate.stores.db.selectFrom('users').select(['id', 'username']).where('username', '=', 'two-node-device').executeTakeFirstOrThrow();
    await b.app.pairgate.engine.approve(device.device_code.split('.')[0]!, { status: 'approved', userId: owner.id, username: owner.username });
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => token(i % 2 ? baseA : baseB, device.device_code)));
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(1);
    expect(answers.filter((answer) => answer.status !== 200).every((answer) => answer.body.error === 'invalid_grant')).toBe(true);
  });

  it('refresh tokens on PostgreSQL: rotated on either node; 20 concurrent refreshes over both give exactly one success and end the family', async () => {
    const device = (await postForm(`${baseA}/oauth/device_authorization`, { client_id: 'cli', scope: 'read' })).body as { device_code: string };
    const owner = await b.app.pairgate.stores.db.selectFrom('users').select(['id', 'username']).where('username', '=', 'two-node-device').executeTakeFirstOrThrow();
    await b.app.pairgate.engine.approve(device.device_code.split('.')[0]!, { status: 'approved', userId: owner.id, username: owner.username });
    const issued = await token(baseB, device.device_code);
    const refresh = (base: string, refreshToken: string) => postForm(`${base}/oauth/token`, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'cli' });
    const rotated = await refresh(baseA, String(issued.body.refresh_token));
    expect(rotated).toMatchObject({ status: 200, body: { scope: 'read', refresh_token: expect.any(String) } });
    expect((await postForm(`${baseB}/oauth/introspect`, { token: String(rotated.body.access_token) }, INTROSPECTION_AUTH)).body).toMatchObject({ active: true, username: 'two-node-device' });
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => refresh(i % 2 ? baseA : baseB, String(rotated.body.refresh_token))));
    const won = answers.filter((answer) => answer.status === 200);
    expect(won).toHaveLength(1);
    expect(answers.filter((answer) => answer.status === 400 && answer.body.error === 'invalid_grant')).toHaveLength(19);
    for (const accessToken of [issued.body.access_token, rotated.body.access_token, won[0]!.body.access_token]) {
      expect((await postForm(`${baseA}/oauth/introspect`, { token: String(accessToken) }, INTROSPECTION_AUTH)).body).toEqual({ active: false });
    }
  });
});
