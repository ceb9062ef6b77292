import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

// The server's clock (grant expiries) is a ManualClock that does not move; the wall clock (`Date`,
// all that is faked) is stepped, as NTP steps it. A stream's length is elapsed time, not either.
const HOUR_MS = 3_600_000;

describe('a grant event stream when the wall clock jumps ahead', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_RATE_LIMIT_MAX: '1000' }, { clock: new ManualClock(Date.now()) });
    base = await t.listen();
  });
  afterAll(() => t.close());
  afterEach(() => {
    vi.useRealTimers();
  });

  const post = (path: string, body: unknown) => fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('keeps streaming the next changes: the jump does not end it at its next event', async () => {
    const created = (await (await post('/api/v1/grants', { label: 'jump' })).json()) as { id: string; code: string; secret: string };
    const response = await fetch(`${base}/api/v1/grants/${created.id}/events`);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const readUntil = async (needle: string): Promise<void> => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${needle}: ${text}`);
        text += decoder.decode(value);
      }
    };
    await readUntil('"state":"pending"');
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + HOUR_MS });
    expect((await post(`/api/v1/codes/${created.code}/approve`, {})).status).toBe(200);
    await readUntil('"state":"approved"');
    expect((await post(`/api/v1/grants/${created.id}/redeem`, { secret: created.secret })).status).toBe(200);
    await readUntil('"state":"redeemed"');
    await reader.cancel();
  });
});
