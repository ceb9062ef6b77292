import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { createTestDatabase, createTestPrefix, postgresMissing, redisMissing } from '../../helpers/services.js';
import { authRequest, FormClient, getJson, postJson } from './form-client.js';

const skip = (await postgresMissing()) ?? (await redisMissing());

/**
 * The access door and accounts on the multi-node stores: users, sessions, reset tokens and app
 * accesses in PostgreSQL, the auth request grants, sign-in counters and wake-ups in Redis. Two
 * nodes share them: a request made on one is accepted on the other, and a waiter on the first
 * wakes at once.
 */
describe.skipIf(skip)('access door on PostgreSQL and Redis, two nodes', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let prefix: ReturnType<typeof createTestPrefix>;
  let a: TestApp;
  let b: TestApp;
  let baseA: string;
  let baseB: string;
  beforeAll(async () => {
    database = await createTestDatabase();
    prefix = createTestPrefix();
    const env = { PAIRGATE_SCRYPT_COST: '10', PAIRGATE_DATABASE_URL: database.url, PAIRGATE_REDIS_URL: process.env.PAIRGATE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', PAIRGATE_REDIS_PREFIX: prefix.prefix };
    a = await createTestApp(env);
    baseA = await a.listen();
    b = await createTestApp(env);
    baseB = await b.listen();
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await prefix?.cleanup();
    await database?.drop();
  });

  it('a request made on one node is accepted on the other; the waiter on the first wakes at once; the token works on both', async () => {
    const user = new FormClient(baseB);
    await user.register('two-node-user');
    const created = await postJson(`${baseA}/access`, authRequest({ requestingAppId: 'two-node-app' }));
    const key = String(created.body.key);
    const waiting = fetch(`${baseA}/access/${key}?wait=20`).then(async (r) => ({ at: performance.now(), status: r.status, body: (await r.json()) as Record<string, unknown> }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const decidedAt = performance.now();
    await user.decide(key, 'accept');
    const { at, status, body } = await waiting;
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: 'ACCEPTED', username: 'two-node-user' });
    expect(at - decidedAt).toBeLessThan(3_000);
    for (const base of [baseA, baseB]) {
      expect((await getJson(`${base}/two-node-user/access-info`, { authorization: String(body.token) })).body).toMatchObject({ type: 'app', name: 'two-node-app' });
    }
    // A matching request on node A is recognised for the session made on node B: the compact
    // screen, and one click adds a token to the same access.
    const again = await postJson(`${baseA}/access`, authRequest({ requestingAppId: 'two-node-app' }));
    const signedIn = new FormClient(baseA);
    for (const [name, value] of user.cookies) signedIn.cookies.set(name, value);
    const page = await signedIn.get(`/access/auth?key=${String(again.body.key)}`);
    expect(page.text).toContain('asks again for the access it already has');
    expect((await getJson(String(again.body.poll))).body.status).toBe('NEED_SIGNIN');
    expect((await signedIn.post('/access/auth/decide', { key: String(again.body.key), decision: 'accept' })).text).toContain('data-outcome="ACCEPTED"');
    expect((await getJson(String(again.body.poll))).body.status).toBe('ACCEPTED');
    expect(JSON.parse((await user.get('/api/v1/accesses')).text).accesses).toHaveLength(1);
  });

  it('sign-in limits hold across nodes', async () => {
    const owner = new FormClient(baseA);
    await owner.register('limited-two-node', 'the right password');
    for (let i = 0; i < 10; i++) expect((await new FormClient(i % 2 ? baseA : baseB).signIn('limited-two-node', `guess ${i}`)).status).toBe(401);
    expect((await new FormClient(baseB).signIn('limited-two-node', 'the right password')).status).toBe(429);
  });
});
