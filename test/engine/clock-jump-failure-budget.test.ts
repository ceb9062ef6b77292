import { mkdtempSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { FailureBudget } from '../../src/engine/failure-budget.js';
import { ephemeralRateLimitStore } from '../../src/server/ephemeral-rate-limit-store.js';
import { coreMigrations } from '../../src/store/migrations/core.js';
import type { Stores } from '../../src/store/ports.js';
import { openSqliteStores } from '../../src/store/sqlite/sqlite-stores.js';
import { ephemeralAdapters, type OpenedEphemeral } from '../store/ephemeral-adapters.js';

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

// On every adapter, the shared ones seen from two nodes: the window of a counter opened before the
// clock went back is restarted by the store's increment itself, in the same atomic step as a
// failure is counted (and as a refusal restarts a spent one). A read then a set of the count read
// lost the failures other nodes counted in between, and left a counter under its limit unrestarted.
for (const adapter of await ephemeralAdapters()) describe.skipIf(Boolean(adapter.skip))(`failure budgets when the wall clock is stepped back, ${adapter.name}${adapter.skip ? ` (skipped: ${adapter.skip})` : ''}`, () => {
  let opened: OpenedEphemeral;
  beforeAll(async () => {
    opened = await adapter.open();
  });
  afterAll(() => opened?.close());

  /** The end of the window of `key`, as stored. */
  const endOf = async (key: string, now: number) => (await opened.nodes[0]!.list(key, now)).find((entry) => entry.key === key)?.expiresAt;

  it('a failure counted after the clock went back a day restarts a window under its limit, its failures kept', async () => {
    const clock = new ManualClock(Date.now());
    const budget = new FailureBudget(opened.nodes[0]!, clock, HOUR_MS);
    const counters = [{ key: 'miss:under', limit: 10 }];
    for (let i = 0; i < 3; i++) await budget.recordFailure(counters);
    clock.advance(-DAY_MS);
    await budget.recordFailure(counters);
    expect(await opened.nodes[0]!.get('miss:under', clock.now())).toBe('4');
    expect(await endOf('miss:under', clock.now())).toBe(clock.now() + HOUR_MS);
  });

  it('50 failures counted at once through every node, and 50 refused attempts, as a spent window opened a day ahead restarts: none lost', async () => {
    const clock = new ManualClock(Date.now());
    const budgets = opened.nodes.map((ephemeral) => new FailureBudget(ephemeral, clock, HOUR_MS));
    const counters = [{ key: 'miss:race', limit: 5 }];
    for (let i = 0; i < 5; i++) await budgets[0]!.recordFailure(counters);
    clock.advance(-DAY_MS);
    // The refusals at once, the failures in waves of 5 a millisecond apart, so that some are
    // counted while the refusals restart the window.
    const refusals = Array.from({ length: 50 }, (_, i) => attempt(budgets[i % budgets.length]!, 'miss:race', 5));
    const failures: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) {
      if (i % 5 === 0) await sleep(1);
      failures.push(budgets[i % budgets.length]!.recordFailure(counters));
    }
    await Promise.all(failures);
    for (const refused of await Promise.all(refusals)) {
      expect(refused).not.toBe('tried');
      expect(refused).toBeLessThanOrEqual(3600);
    }
    expect(await opened.nodes[0]!.get('miss:race', clock.now())).toBe('55');
    expect(await endOf('miss:race', clock.now())).toBe(clock.now() + HOUR_MS);
  });
});
