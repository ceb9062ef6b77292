import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { confirmPairing, SessionFinalStateError, SupportOriginClient } from '../../src/sdk/support.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { ADMIN, RELAY_TEST_ENV, startRelay } from '../doors/support/helpers.js';
import { waitDroppingProxy } from './wait-dropping-proxy.js';

const AVATAR = 'https://avatars.example/thorsten.png';

/**
 * An origin whose `GET /session/:id` requests are counted per session id (an onRequest hook on the
 * real server: every request the SDK makes is seen, however it is answered).
 */
async function countingOrigin(relayUrl: string, options: Parameters<typeof createTestApp>[1] = {}): Promise<{ origin: TestApp; reads: (id: string) => number }> {
  const origin = await createTestApp({
    PLEXUS_AUTH_USER: ADMIN.user,
    PLEXUS_AUTH_PASS: ADMIN.password,
    PLEXUS_PAIRING_URL: `${relayUrl}/pairing/`,
    ...RELAY_TEST_ENV,
  }, options);
  const counts = new Map<string, number>();
  origin.app.addHook('onRequest', async (request) => {
    if (request.method === 'GET' && request.routeOptions.url === '/session/:id') {
      const { id } = request.params as { id: string };
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
  });
  await origin.listen();
  return { origin, reads: (id) => counts.get(id) ?? 0 };
}

describe('SDK waitForState: stops at a final state it was not asked for, and never busy-loops', () => {
  let relay: TestApp;
  let origin: TestApp;
  let reads: (id: string) => number;
  let sdk: SupportOriginClient;
  beforeAll(async () => {
    relay = await startRelay();
    ({ origin, reads } = await countingOrigin(relay.url));
    sdk = new SupportOriginClient({ baseUrl: origin.url, ...ADMIN });
  });
  afterAll(async () => {
    await origin?.close();
    await relay?.close();
  });

  it('a session declined while waiting for connected: rejects at once with session_declined, in a few requests', async () => {
    const created = await sdk.createSession({ id: 'wait-declined', supporterName: 'T', supporterAvatar: AVATAR });
    const waiting = sdk.waitForState('wait-declined', ['connected'], 30);
    const outcome = waiting.then(() => undefined, (error: unknown) => error);
    await expect.poll(() => reads('wait-declined')).toBe(2); // the first read and the long-poll
    const declinedAt = Date.now();
    await expect(confirmPairing(`${origin.url}/pairing/${created.PairingCode}`, 'decline')).rejects.toMatchObject({ status: 403, code: 'declined' });
    const error = await outcome;
    // Promptly: far sooner than the 30 s asked for (generous, for a loaded machine).
    expect(Date.now() - declinedAt).toBeLessThan(10_000);
    expect(error).toBeInstanceOf(SessionFinalStateError);
    expect(error).toMatchObject({ status: 409, code: 'session_declined', state: 'declined', wanted: ['connected'], session: { ID: 'wait-declined', State: 'declined' } });
    expect((error as Error).message).toMatch(/wait-declined was declined.*will not become connected/);
    // Before, every long-poll was answered at once (declined is final) and sent again until the deadline.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(reads('wait-declined')).toBe(2);
  });

  it('a final state asked for is returned; one already reached rejects after a single read', async () => {
    const created = await sdk.createSession({ id: 'wait-for-decline', supporterName: 'T', supporterAvatar: AVATAR });
    await confirmPairing(`${origin.url}/pairing/${created.PairingCode}`, 'decline').catch(() => undefined);
    expect(await sdk.waitForState('wait-for-decline', ['declined', 'connected'], 30)).toMatchObject({ State: 'declined' });
    const before = reads('wait-for-decline');
    await expect(sdk.waitForState('wait-for-decline', ['confirmed'], 30)).rejects.toMatchObject({ code: 'session_declined' });
    expect(reads('wait-for-decline') - before).toBe(1);
  });

  it('a session ended while waiting (deleted): rejects at once with the server\'s session_not_found', async () => {
    await sdk.createSession({ id: 'wait-deleted', supporterName: 'T', supporterAvatar: AVATAR });
    const outcome = sdk.waitForState('wait-deleted', ['connected'], 30).then(() => undefined, (error: unknown) => error);
    await expect.poll(() => reads('wait-deleted')).toBe(2);
    const deletedAt = Date.now();
    await sdk.deleteSession('wait-deleted');
    expect(await outcome).toMatchObject({ status: 404, code: 'session_not_found' });
    expect(Date.now() - deletedAt).toBeLessThan(10_000);
    expect(reads('wait-deleted')).toBe(2);
  });

  it('a session ended on its channel by the supporter while waiting: the same', async () => {
    await sdk.createSession({ id: 'wait-ended', supporterName: 'T', supporterAvatar: AVATAR });
    const outcome = sdk.waitForState('wait-ended', ['connected'], 30).then(() => undefined, (error: unknown) => error);
    await expect.poll(() => reads('wait-ended')).toBe(2);
    const supporter = await sdk.attach('wait-ended');
    await supporter.next((event) => event.type === 'state');
    supporter.end();
    expect(await outcome).toMatchObject({ status: 404, code: 'session_not_found' });
    expect(reads('wait-ended')).toBe(2);
    supporter.close();
  });

  it('a session reaching its TTL while waiting: rejects with session_expired as it expires', async () => {
    await sdk.createSession({ id: 'wait-expiring', ttl: 10, supporterName: 'T', supporterAvatar: AVATAR });
    const started = Date.now();
    const error = await sdk.waitForState('wait-expiring', ['connected'], 30).then(() => undefined, (failure: unknown) => failure);
    expect(error).toBeInstanceOf(SessionFinalStateError);
    expect(error).toMatchObject({ code: 'session_expired', state: 'expired', session: { State: 'expired' } });
    expect(Date.now() - started).toBeLessThan(25_000);
    // The first read and the long-poll the expiry answered. Before, GET /session/:id kept answering
    // `expired` at once for an hour, and each answer was polled again.
    expect(reads('wait-expiring')).toBeLessThanOrEqual(3);
  }, 20_000);

  it('a long-poll answered at once with nothing changed is not re-sent in a tight loop; a change still ends the wait', async () => {
    const created = await sdk.createSession({ id: 'wait-proxied', supporterName: 'T', supporterAvatar: AVATAR });
    const proxy = await waitDroppingProxy(origin.url);
    try {
      const proxied = new SupportOriginClient({ baseUrl: proxy.url, ...ADMIN });
      // Nothing changes for 3 s: pauses of 1 s and 2 s between the immediate answers.
      const started = Date.now();
      expect(await proxied.waitForState('wait-proxied', ['confirmed'], 3)).toMatchObject({ State: 'waiting' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(2_900);
      expect(reads('wait-proxied')).toBeLessThanOrEqual(4);
      // Confirmed while waiting: seen at the next request, within the pause.
      const before = reads('wait-proxied');
      const waiting = proxied.waitForState('wait-proxied', ['confirmed'], 30);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const confirmedAt = Date.now();
      await confirmPairing(`${origin.url}/pairing/${created.PairingCode}`);
      expect(await waiting).toMatchObject({ State: 'confirmed' });
      expect(Date.now() - confirmedAt).toBeLessThan(10_000);
      expect(reads('wait-proxied') - before).toBeLessThanOrEqual(4);
    } finally {
      proxy.server.close();
    }
  }, 20_000);
});

describe('SDK waitForState on an expired session (engine clock)', () => {
  it('already expired: rejects with session_expired after one read, or returns it when expired is asked for', async () => {
    const relay = await startRelay();
    const clock = new ManualClock(Date.now());
    const { origin, reads } = await countingOrigin(relay.url, { clock });
    try {
      const sdk = new SupportOriginClient({ baseUrl: origin.url, ...ADMIN });
      await sdk.createSession({ id: 'long-gone', ttl: 30, supporterName: 'T', supporterAvatar: AVATAR });
      clock.advance(31_000);
      const started = Date.now();
      await expect(sdk.waitForState('long-gone', ['connected'], 30)).rejects.toMatchObject({ code: 'session_expired', state: 'expired' });
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(reads('long-gone')).toBe(1);
      expect(await sdk.waitForState('long-gone', ['connected', 'expired'], 30)).toMatchObject({ State: 'expired' });
    } finally {
      await origin.close();
      await relay.close();
    }
  });
});
