import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTestApp } from '../helpers/app.js';

// The wall clock stepped (NTP correcting a clock that ran ahead, an operator's `date -s`): only
// `Date` is faked, which is what a step changes; timers and `performance.now()` run on as they do.
const HOUR_MS = 3_600_000;
const GRANT = '/api/v1/grants/AAAAAAAAAAAAAAAAAAAAAA';

afterEach(() => {
  vi.useRealTimers();
});

describe('the global rate limit when the wall clock is stepped (one node, process memory)', () => {
  it('keeps a Retry-After within the window after the clock goes back an hour', async () => {
    const t = await createTestApp({ PAIRGATE_RATE_LIMIT_MAX: '3', PAIRGATE_RATE_LIMIT_WINDOW_SECONDS: '60' });
    try {
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
      for (let i = 0; i < 3; i++) expect((await t.app.inject(GRANT)).statusCode).toBe(404);
      expect((await t.app.inject(GRANT)).statusCode).toBe(429);
      vi.setSystemTime(Date.now() - HOUR_MS);
      const limited = await t.app.inject(GRANT);
      expect(limited.statusCode).toBe(429);
      expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    } finally {
      await t.close();
    }
  });

  it('ends a window after its length of elapsed time, though the clock went back an hour', async () => {
    const t = await createTestApp({ PAIRGATE_RATE_LIMIT_MAX: '2', PAIRGATE_RATE_LIMIT_WINDOW_SECONDS: '1' });
    try {
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
      for (let i = 0; i < 2; i++) expect((await t.app.inject(GRANT)).statusCode).toBe(404);
      expect((await t.app.inject(GRANT)).statusCode).toBe(429);
      vi.setSystemTime(Date.now() - HOUR_MS);
      await sleep(1_100);
      expect((await t.app.inject(GRANT)).statusCode).toBe(404);
    } finally {
      await t.close();
    }
  });

  it('does not end a window at once when the clock jumps a day ahead', async () => {
    const t = await createTestApp({ PAIRGATE_RATE_LIMIT_MAX: '2', PAIRGATE_RATE_LIMIT_WINDOW_SECONDS: '60' });
    try {
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
      for (let i = 0; i < 2; i++) expect((await t.app.inject(GRANT)).statusCode).toBe(404);
      vi.setSystemTime(Date.now() + 24 * HOUR_MS);
      const limited = await t.app.inject(GRANT);
      expect(limited.statusCode).toBe(429);
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await t.close();
    }
  });
});
