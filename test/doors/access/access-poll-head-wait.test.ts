import { describe, expect, it } from 'vitest';
import { useListeningApp } from '../../helpers/app.js';
import { authRequest, postJson } from './form-client.js';

/**
 * A HEAD of the poll address with a wait (`?wait=`, or `Prefer: wait=`) answers at once: it gets
 * no body, so the decision it waited for reached nobody, and it held one of the client's wait
 * slots (PAIRGATE_WAITS_PER_CLIENT) all along, where the app's own long poll or stream then found
 * none. The event stream's HEAD already answered at once (`streamGrant`).
 */
describe('a HEAD of a pending request\'s poll address with a wait', () => {
  const served = useListeningApp({ PAIRGATE_WAITS_PER_CLIENT: '1', PAIRGATE_WAIT_MAX_SECONDS: '30' });

  it('answers at once, says no wait was applied, and holds no wait slot', async () => {
    const created = (await postJson(`${served.base}/access`, authRequest({ requestingAppId: 'head-waiting-app' }))).body;
    const poll = String(created.poll);
    for (const [url, headers] of [[`${poll}?wait=20`, {}], [poll, { prefer: 'wait=20' }]] as const) {
      const started = Date.now();
      const head = await fetch(url, { method: 'HEAD', headers, signal: AbortSignal.timeout(10_000) });
      expect(head.status, url).toBe(201);
      expect(Date.now() - started, url).toBeLessThan(2_000);
      expect(head.headers.get('preference-applied'), url).toBeNull();
    }

    // Under way beside the app's stream, the HEAD leaves it the client's one slot.
    const probing = fetch(`${poll}?wait=20`, { method: 'HEAD', signal: AbortSignal.timeout(10_000) }).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const stream = new AbortController();
    const events = await fetch(`${poll}/events`, { signal: stream.signal });
    expect(events.status).toBe(200);
    stream.abort();
    await events.body?.cancel().catch(() => undefined);
    expect(await probing).toBeInstanceOf(Response);
  });

  it('a GET of it still waits', async () => {
    const created = (await postJson(`${served.base}/access`, authRequest({ requestingAppId: 'get-waiting-app' }))).body;
    const started = Date.now();
    const answer = await fetch(`${String(created.poll)}?wait=1`);
    expect(answer.status).toBe(201);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });
});
