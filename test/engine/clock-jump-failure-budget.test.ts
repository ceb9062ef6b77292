import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { FailureBudget } from '../../src/engine/failure-budget.js';
import { ephemeralRateLimitStore } from '../../src/server/ephemeral-rate-limit-store.js';
import { coreMigrations } from '../../src/store/migrations/core.js';
import type { Stores } from '../../src/store/ports.js';
import { openSqliteStores } from '../../src/store/sqlite/sqlite-stores.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

type Refused = Error & { retryAfter: number };
const refuse = (retryAfter: number): Refused => Object.assign(new Error('refused'), { retryAfter });

/** Retry-After of a refused attempt, or 'tried' when the attempt ran. */
async function attempt(budget: FailureBudget, key: string, limit: number): Promise<number | 'tried'> {
  try {
    await budget.run([{ key, limit }], async () => undefined, () => true, refuse);
    return 'tried';
  } catch (error) {
    return (error as Refused).retryAfter;
  }
}

describe('failure budgets and shared rate windows when the wall clock is stepped back (real SQLite ephemeral store)', () => {
  let stores: Stores;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'pairgate-clock-jump-'));
    stores = await openSqliteStores({ dataDir, migrations: coreMigrations });
  });
  afterAll(async () => {
    await stores.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses a spent address for at most the window after the clock goes back a day, then lets it try', async () => {
    const clock = new ManualClock(Date.now());
    const budget = new FailureBudget(stores.ephemeral, clock, HOUR_MS);
    expect(await attempt(budget, 'miss:back', 2)).toBe('tried');
    expect(await attempt(budget, 'miss:back', 2)).toBe('tried');
    expect(await attempt(budget, 'miss:back', 2)).toBe(3600);
    clock.advance(-DAY_MS); // NTP corrects a clock that ran a day ahead
    expect(await attempt(budget, 'miss:back', 2)).toBe(3600);
    clock.advance(HOUR_MS + 1_000);
    expect(await attempt(budget, 'miss:back', 2)).toBe('tried');
  });

  it('keeps as stored a window started by a node whose clock is a few seconds ahead', async () => {
    const behind = new ManualClock(Date.now());
    const ahead = new ManualClock(behind.now() + 5_000);
    const onAhead = new FailureBudget(stores.ephemeral, ahead, HOUR_MS);
    const onBehind = new FailureBudget(stores.ephemeral, behind, HOUR_MS);
    expect(await attempt(onAhead, 'miss:skew', 1)).toBe('tried');
    expect(await attempt(onBehind, 'miss:skew', 1)).toBe(3605);
    behind.advance(HOUR_MS);
    expect(await attempt(onBehind, 'miss:skew', 1)).toBe(5);
  });

  it('restarts a shared rate window opened before the clock went back an hour, keeping its count', async () => {
    const clock = new ManualClock(Date.now());
    const Store = ephemeralRateLimitStore(stores.ephemeral, clock);
    const store = new Store({} as never);
    const incr = () => new Promise<{ current: number; ttl: number }>((resolve, reject) => {
      store.incr('203.0.113.7', (error, result) => (error ? reject(error) : resolve(result!)), 60_000, 10);
    });
    for (let i = 1; i <= 3; i++) expect((await incr()).current).toBe(i);
    clock.advance(-HOUR_MS);
    const after = await incr();
    expect(after.current).toBe(4);
    expect(after.ttl).toBeLessThanOrEqual(60_000);
    clock.advance(60_001);
    expect((await incr()).current).toBe(1);
  });
});
