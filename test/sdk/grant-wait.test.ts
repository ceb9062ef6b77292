import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PairgateClient, type GrantView } from '../../src/sdk/client.js';
import { waitParameter } from '../../src/sdk/long-poll.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { ensureBuilt, startNode, type NodeProcess } from '../helpers/node-process.js';
import { waitDroppingProxy } from './wait-dropping-proxy.js';

describe('SDK waitForDecision: a long-poll answered at once, unchanged, is not re-sent in a tight loop', () => {
  let t: TestApp;
  const reads = new Map<string, number>();
  const readsOf = (id: string): number => reads.get(id) ?? 0;
  let sdk: PairgateClient;
  let proxy: Awaited<ReturnType<typeof waitDroppingProxy>>;
  beforeAll(async () => {
    t = await createTestApp();
    // Every GET /api/v1/grants/:id the SDK sends reaches this hook on the real server, however answered.
    t.app.addHook('onRequest', async (request) => {
      if (request.method === 'GET' && request.routeOptions.url === '/api/v1/grants/:id') {
        const { id } = request.params as { id: string };
        reads.set(id, readsOf(id) + 1);
      }
    });
    await t.listen();
    sdk = new PairgateClient({ baseUrl: t.url });
    proxy = await waitDroppingProxy(t.url);
  });
  afterAll(async () => {
    proxy?.server.close();
    await t?.close();
  });

  it('nothing changes for 3 s behind a proxy that drops wait: a few requests (pauses of 1 s, then 2 s), not hundreds', async () => {
    const created = await sdk.createGrant({ label: 'proxied, undecided' });
    const proxied = new PairgateClient({ baseUrl: proxy.url });
    const changes: GrantView[] = [];
    const started = Date.now();
    const view = await proxied.waitForDecision(created.id, 3, (seen) => changes.push(seen));
    expect(view).toMatchObject({ id: created.id, state: 'pending' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_900);
    // The first read, then long-polls at about 0 s and 1 s (the pause after it is cut at the 3 s
    // deadline). Before, each immediate answer was sent again at once until the deadline (or the
    // rate limit's 429).
    expect(readsOf(created.id)).toBeLessThanOrEqual(3);
    expect(changes).toEqual([]);
  }, 10_000);

  it('a pause cut at the deadline ends the wait: no long-poll is sent after it (a timer firing a hair early sent one more, of 1 s)', async () => {
    const proxied = new PairgateClient({ baseUrl: proxy.url });
    // Several at once: a timer wakes early only now and then.
    const created = await Promise.all(Array.from({ length: 8 }, (_, i) => sdk.createGrant({ label: `deadline ${i}` })));
    const views = await Promise.all(created.map((grant) => proxied.waitForDecision(grant.id, 1)));
    for (const view of views) expect(view.state).toBe('pending');
    // The first read and one long-poll (answered at once, the pause then cut at the 1 s deadline).
    expect(created.map((grant) => readsOf(grant.id))).toEqual(created.map(() => 2));
  }, 10_000);

  it('a decision while waiting behind that proxy is still seen at the next request, within the pause', async () => {
    const created = await sdk.createGrant({ label: 'proxied, approved' });
    const proxied = new PairgateClient({ baseUrl: proxy.url });
    const changes: GrantView[] = [];
    const waiting = proxied.waitForDecision(created.id, 30, (seen) => changes.push(seen));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await sdk.approveCode(created.code);
    expect(await waiting).toMatchObject({ id: created.id, state: 'approved' });
    expect(readsOf(created.id)).toBeLessThanOrEqual(5);
    expect(changes.map((seen) => seen.state)).toEqual(['approved']);
  }, 10_000);

  it('without the proxy the long-poll holds: one long-poll ends the wait when the grant is refused', async () => {
    const created = await sdk.createGrant({ label: 'direct' });
    const waiting = sdk.waitForDecision(created.id, 30);
    await expect.poll(() => readsOf(created.id)).toBe(2); // the first read and the long-poll
    await sdk.refuseCode(created.code);
    expect(await waiting).toMatchObject({ state: 'refused' });
    expect(readsOf(created.id)).toBe(2);
  });
});

describe('SDK waitForDecision without maxSeconds: as long as the grant can live', () => {
  let node: NodeProcess;
  beforeAll(async () => {
    ensureBuilt();
    // Grants of an hour, and long-polls of a second, so that the wait goes on by many of them.
    node = await startNode({ PAIRGATE_GRANT_TTL_SECONDS: '3600', PAIRGATE_WAIT_MAX_SECONDS: '1', PAIRGATE_GRANTS_CODE_LENGTH: '12' });
  }, 120_000);
  afterAll(async () => {
    vi.restoreAllMocks();
    await node?.stop();
  });

  it('still waits when more than 10 minutes have passed on a grant of an hour (it gave up at 600 s, saying "pending")', async () => {
    const sdk = new PairgateClient({ baseUrl: node.url });
    const created = await sdk.createGrant({ label: 'a long job', ttl: 3600 });
    // Only this process's clock jumps: the server, in its own process, keeps the grant live.
    const realNow = Date.now.bind(Date);
    let skipped = 0;
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + skipped);
    const waiting = sdk.waitForDecision(created.id);
    await new Promise((resolve) => setTimeout(resolve, 300));
    skipped = 20 * 60_000;
    // Past the old 600 s deadline, a long-poll or two come back unchanged.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    await sdk.approveCode(created.code);
    expect(await waiting).toMatchObject({ id: created.id, state: 'approved' });
  }, 20_000);
});

describe('SDK getGrant with a wait a caller computed', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_WAIT_MAX_SECONDS: '1' });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => t.close());

  it('sends it in decimal digits, which the server takes: a tiny or huge one is no invalid_wait', async () => {
    const address = t.app.server.address() as { port: number };
    const sdk = new PairgateClient({ baseUrl: `http://127.0.0.1:${address.port}` });
    const created = await sdk.createGrant({ label: 'computed waits' });
    for (const waitSeconds of [1e-7, 0.25, 1e21, 2 / 3]) {
      expect((await sdk.getGrant(created.id, { waitSeconds })).state, String(waitSeconds)).toBe('pending');
    }
    expect(waitParameter(1e21)).toBe('86400');
    expect(waitParameter(2 / 3)).toBe('0.667');
  }, 20_000);
});
