import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/core/clock.js';
import { GrantEngine } from '../../src/engine/grant-engine.js';
import { MemoryNotifier } from '../../src/store/memory/memory-notifier.js';
import { coreMigrations } from '../../src/store/migrations/core.js';
import type { Stores } from '../../src/store/ports.js';
import { openSqliteStores } from '../../src/store/sqlite/sqlite-stores.js';
import { testCodes } from '../helpers/code-hasher.js';

/** A wall clock that can be stepped either way, as NTP or an operator steps a real one. */
class SteppedClock implements Clock {
  constructor(private current: number) {}
  now(): number {
    return this.current;
  }
  step(ms: number): void {
    this.current += ms;
  }
}

/**
 * The engine's capacity counts after the wall clock is stepped back: a count read before the step
 * must not pass for fresh until the clock catches up again (an hour's step held every creation of
 * a full kind refused for the hour, whatever was decided or deleted meanwhile).
 */
describe('GrantEngine capacity after a clock stepped back (real SQLite)', () => {
  let stores: Stores;
  beforeAll(async () => {
    stores = await openSqliteStores({ dataDir: mkdtempSync(join(tmpdir(), 'pairgate-count-step-')), migrations: coreMigrations });
  });
  afterAll(() => stores.close());

  const refuse = () => new Error('full');

  it('reads the count again once the clock went back, so places freed meanwhile are taken', async () => {
    const clock = new SteppedClock(Date.now());
    const engine = new GrantEngine(stores.grants, new MemoryNotifier(), clock, testCodes);
    const capacity = { max: 2, refuse, of: 'pending' as const };
    const made = [];
    for (let i = 0; i < 2; i++) made.push(await engine.create({ kind: 'stepped', request: {}, ttlMs: 86_400_000, capacity }));
    await expect(engine.create({ kind: 'stepped', request: {}, ttlMs: 86_400_000, capacity })).rejects.toThrow('full');
    // Both decided: no pending grant is left, so both places are free again.
    for (const { grant } of made) await engine.approve(grant.id);
    clock.step(-3_600_000);
    const created = await engine.create({ kind: 'stepped', request: {}, ttlMs: 86_400_000, capacity });
    expect(created.grant.state).toBe('pending');
  });
});
