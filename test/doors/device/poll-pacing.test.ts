import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { MAX_INTERVAL_SECONDS, PollPacing, SLOW_DOWN_STEP_SECONDS } from '../../../src/doors/device/poll-pacing.js';
import { coreMigrations } from '../../../src/store/migrations/core.js';
import type { Stores } from '../../../src/store/ports.js';
import { openSqliteStores } from '../../../src/store/sqlite/sqlite-stores.js';

/** The interval a slow_down answer carries, or undefined when the poll was on time. */
async function pollOnce(pacing: PollPacing, grantId: string, expiresAt: number): Promise<number | undefined> {
  try {
    await pacing.check(grantId, expiresAt);
    return undefined;
  } catch (error) {
    const { code, details } = error as { code?: string; details?: { interval?: number } };
    expect(code).toBe('slow_down');
    return details?.interval;
  }
}

describe('poll pacing (RFC 8628 §3.5 slow_down) on the real SQLite ephemeral store', () => {
  let stores: Stores;
  const clock = new ManualClock();
  beforeAll(async () => {
    stores = await openSqliteStores({ dataDir: ':memory:', migrations: coreMigrations });
  });
  afterAll(() => stores.close());

  it('each slow_down adds 5 s, and the interval stops growing at 120 s however fast the client polls', async () => {
    const pacing = new PollPacing(stores.ephemeral, clock, 5);
    const expiresAt = clock.now() + 3_600_000;
    expect(await pollOnce(pacing, 'grant-cap', expiresAt)).toBeUndefined();
    const seen: number[] = [];
    // 23 slow_downs reach 5 + 23 x 5 = 120; the ten after them must not go past it.
    for (let i = 0; i < 33; i++) seen.push((await pollOnce(pacing, 'grant-cap', expiresAt))!);
    expect(seen.slice(0, 3)).toEqual([10, 15, 20]);
    expect(seen[22]).toBe(MAX_INTERVAL_SECONDS);
    expect(seen.slice(23)).toEqual(Array(10).fill(MAX_INTERVAL_SECONDS));
    expect(Math.max(...seen)).toBe(MAX_INTERVAL_SECONDS);
    expect(await pacing.interval('grant-cap')).toBe(MAX_INTERVAL_SECONDS);
    // The capped interval is honoured: a poll a second short of it is early, one after it passes.
    clock.advance((MAX_INTERVAL_SECONDS - 1) * 1000);
    expect(await pollOnce(pacing, 'grant-cap', expiresAt)).toBe(MAX_INTERVAL_SECONDS);
    clock.advance(MAX_INTERVAL_SECONDS * 1000);
    expect(await pollOnce(pacing, 'grant-cap', expiresAt)).toBeUndefined();
  });

  it('a base interval near the cap is capped on the first slow_down; other authorizations keep their own pace', async () => {
    const pacing = new PollPacing(stores.ephemeral, clock, 118);
    const expiresAt = clock.now() + 3_600_000;
    expect(await pollOnce(pacing, 'grant-near', expiresAt)).toBeUndefined();
    expect(await pollOnce(pacing, 'grant-near', expiresAt)).toBe(MAX_INTERVAL_SECONDS);
    expect(await pollOnce(pacing, 'grant-near', expiresAt)).toBe(MAX_INTERVAL_SECONDS);
    expect(await pacing.interval('grant-other')).toBe(118);
    expect(118 + SLOW_DOWN_STEP_SECONDS).toBeGreaterThan(MAX_INTERVAL_SECONDS);
  });
});
