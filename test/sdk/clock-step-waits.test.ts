import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { PairgateClient } from '../../src/sdk/client.js';
import { SupportOriginClient } from '../../src/sdk/support.js';
import type { TestApp } from '../helpers/app.js';
import { ADMIN, startOrigin, startRelay } from '../doors/support/helpers.js';

const HOUR_MS = 3_600_000;

/** Settles with 'ended' when `wait` ends within `ms`, 'still waiting' otherwise. */
async function endsWithin(wait: Promise<unknown>, ms: number): Promise<'ended' | 'still waiting'> {
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    wait.then(() => 'ended' as const, () => 'ended' as const),
    new Promise<'still waiting'>((resolve) => (timer = setTimeout(() => resolve('still waiting'), ms))),
  ]);
  clearTimeout(timer);
  return outcome;
}

describe('SDK waits measure their length on the monotonic clock: a step of the wall clock does not stretch them', () => {
  let relay: TestApp;
  let origin: TestApp;
  beforeAll(async () => {
    relay = await startRelay();
    origin = await startOrigin(relay.url);
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  afterAll(async () => {
    await origin?.close();
    await relay?.close();
  });

  it('waitForState of 2 s ends after about 2 s though the wall clock went back an hour meanwhile (it waited an hour more)', async () => {
    const sdk = new SupportOriginClient({ baseUrl: origin.url, ...ADMIN });
    await sdk.createSession({ id: 'clock-step', supporterName: 'T', supporterAvatar: 'https://avatars.example/t.png' });
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const controller = new AbortController();
    const waiting = sdk.waitForState('clock-step', ['connected'], { maxSeconds: 2, signal: controller.signal });
    vi.setSystemTime(Date.now() - HOUR_MS);
    try {
      expect(await endsWithin(waiting, 6_000)).toBe('ended');
      expect(await waiting).toMatchObject({ State: 'waiting' });
    } finally {
      controller.abort();
    }
  });

  it('waitForDecision of 2 s ends after about 2 s though the wall clock went back an hour meanwhile', async () => {
    const sdk = new PairgateClient({ baseUrl: origin.url });
    const created = await sdk.createGrant({ label: 'clock step' });
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const controller = new AbortController();
    const waiting = sdk.waitForDecision(created.id, { maxSeconds: 2, signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 100)); // the first read is done by now
    vi.setSystemTime(Date.now() - HOUR_MS);
    try {
      expect(await endsWithin(waiting, 6_000)).toBe('ended');
      expect(await waiting).toMatchObject({ state: 'pending' });
    } finally {
      controller.abort();
    }
  });
});
