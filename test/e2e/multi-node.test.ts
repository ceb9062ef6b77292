import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, createTestPrefix, postgresMissing, REDIS_URL, redisMissing } from '../helpers/services.js';
import { ensureBuilt, startNode, type NodeProcess } from '../helpers/node-process.js';

const pgSkip = await postgresMissing();
const redisSkip = await redisMissing();

interface Created {
  id: string;
  code: string;
  secret: string;
  version: number;
}

async function json(response: Response): Promise<Record<string, unknown>> {
  return (await response.json()) as Record<string, unknown>;
}

async function create(node: NodeProcess, label: string): Promise<Created> {
  const response = await fetch(`${node.url}/api/v1/grants`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ label }),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as Created;
}

const post = (url: string, body: unknown = {}): Promise<Response> =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** The deployments with more than one node: PostgreSQL and Redis, or PostgreSQL alone (LISTEN/NOTIFY). */
const setups = [
  { name: 'PostgreSQL and Redis', withRedis: true, skip: pgSkip ?? redisSkip },
  { name: 'PostgreSQL alone', withRedis: false, skip: pgSkip },
];

for (const setup of setups) describe.skipIf(Boolean(setup.skip))(`two pairgate nodes sharing ${setup.name}${setup.skip ? ` (skipped: ${setup.skip})` : ''}`, () => {
  let a: NodeProcess;
  let b: NodeProcess;
  let dropDatabase: () => Promise<void> = async () => {};
  let cleanupPrefix: () => Promise<void> = async () => {};
  const rateLimitMax = 200;
  let env: Record<string, string> = {};

  beforeAll(async () => {
    ensureBuilt();
    const database = await createTestDatabase();
    dropDatabase = () => database.drop();
    const { prefix, cleanup } = createTestPrefix();
    cleanupPrefix = cleanup;
    env = {
      PAIRGATE_DATABASE_URL: database.url,
      PAIRGATE_RATE_LIMIT_MAX: String(rateLimitMax),
      ...(setup.withRedis ? { PAIRGATE_REDIS_URL: REDIS_URL, PAIRGATE_REDIS_PREFIX: prefix } : {}),
    };
    // Both at once: the migration lock makes concurrent first starts safe.
    [a, b] = await Promise.all([startNode(env), startNode(env)]);
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled([a?.stop(), b?.stop()]);
    await cleanupPrefix();
    await dropDatabase();
  });

  it('serves a grant created on node A from node B, and wakes a long-poll on A within milliseconds of the approval on B', async () => {
    expect(a.url).not.toBe(b.url);
    const grant = await create(a, 'multi-node');
    const lookup = await fetch(`${b.url}/api/v1/codes/${encodeURIComponent(grant.code)}`);
    expect(lookup.status).toBe(200);
    expect(await json(lookup)).toMatchObject({ label: 'multi-node', state: 'pending' });

    const started = Date.now();
    const polling = fetch(`${a.url}/api/v1/grants/${grant.id}?wait=30`).then(async (response) => ({ at: Date.now(), status: response.status, body: await json(response) }));
    // Give the long-poll time to subscribe on A, so the wake-up crosses nodes.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const approvedAt = Date.now();
    const approval = await post(`${b.url}/api/v1/codes/${encodeURIComponent(grant.code)}/approve`, { note: 'from B' });
    expect(approval.status).toBe(200);
    const woken = await polling;
    expect(woken.status).toBe(200);
    expect(woken.body).toMatchObject({ id: grant.id, state: 'approved' });
    // Woken by the approval, not by the 30 s timeout: within milliseconds of it.
    expect(woken.at - approvedAt).toBeLessThan(250);
    expect(woken.at - started).toBeLessThan(5_000);

    // Redeemed once, whichever node is asked.
    const redeemB = await post(`${b.url}/api/v1/grants/${grant.id}/redeem`, { secret: grant.secret });
    expect(redeemB.status).toBe(200);
    const redeemA = await post(`${a.url}/api/v1/grants/${grant.id}/redeem`, { secret: grant.secret });
    expect(redeemA.status).toBe(409);
  });

  it('loses nothing when node A is killed: node B serves its grants', async () => {
    const grants = await Promise.all([1, 2, 3].map((n) => create(a, `before crash ${n}`)));
    await a.kill();
    await expect(fetch(`${a.url}/healthz`)).rejects.toThrow();
    for (const grant of grants) {
      const read = await fetch(`${b.url}/api/v1/grants/${grant.id}`);
      expect(await json(read)).toMatchObject({ id: grant.id, state: 'pending' });
      const approval = await post(`${b.url}/api/v1/codes/${encodeURIComponent(grant.code)}/approve`);
      expect(approval.status).toBe(200);
      const redeemed = await post(`${b.url}/api/v1/grants/${grant.id}/redeem`, { secret: grant.secret });
      expect(redeemed.status).toBe(200);
    }
    expect((await fetch(`${b.url}/readyz`)).status).toBe(200);
    // A replacement node joins and sees the same state.
    a = await startNode(env);
    expect(await json(await fetch(`${a.url}/api/v1/grants/${grants[0]!.id}`))).toMatchObject({ state: 'redeemed' });
  });

  it('stops promptly on SIGTERM while a client is long-polling, answering it first', async () => {
    const grant = await create(b, 'shutdown');
    const polling = fetch(`${b.url}/api/v1/grants/${grant.id}?wait=30`).then(async (response) => ({ status: response.status, body: await json(response) }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    expect(await b.stop()).toBe(0);
    // Well under the 10 s grace period: the answered long-poll's connection does not hold the close.
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await polling).toMatchObject({ status: 200, body: { id: grant.id, state: 'pending' } });
    b = await startNode(env);
  });

  it('lets a --relay-only node join the same database, beside the whole server', async () => {
    // It stopped with "corrupted migrations: previously executed migration ... is missing": the
    // other doors' migrations, run by the whole server, are not among the relay's.
    const relay = await startNode({ ...env, PAIRGATE_RELAY_ONLY: 'true' });
    try {
      expect(await json(await fetch(`${relay.url}/readyz`))).toMatchObject({ status: 'ready' });
      expect((await fetch(`${a.url}/readyz`)).status).toBe(200);
    } finally {
      await relay.stop();
    }
  });

  it('counts the rate limit across both nodes', async () => {
    const probe = await fetch(`${a.url}/api/v1/grants/no-such-grant-id`);
    const remaining = Number(probe.headers.get('x-ratelimit-remaining'));
    expect(remaining).toBeGreaterThan(4);
    expect(remaining).toBeLessThan(rateLimitMax);
    // Spend what is left, alternating nodes: each node alone sees only half of it.
    for (let i = 0; i < remaining; i++) {
      const response = await fetch(`${(i % 2 ? a : b).url}/api/v1/grants/no-such-grant-id`);
      expect(response.status).toBe(404);
    }
    for (const node of [a, b]) {
      const refused = await fetch(`${node.url}/api/v1/grants/no-such-grant-id`);
      expect(refused.status).toBe(429);
      expect(await json(refused)).toMatchObject({ error: 'rate_limited' });
    }
  });
});
