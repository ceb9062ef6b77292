import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { withFileLock } from '../../../src/doors/lan/file-lock.js';
import { deviceDir } from './lan-fixtures.js';

// The wall clock stepped while a command waits for the peers file's lock: only `Date` is faked,
// which is what a step changes; timers and `performance.now()` run on as they do. The step (30 s)
// is within the lock's staleness age (60 s here), so the held lock stays held: only the wait is at stake.
const STEP_MS = 30_000;

afterEach(() => {
  vi.useRealTimers();
});

/** A lock held by a live process of this host (this one), written just now. */
function heldLock(name: string): string {
  const lock = join(deviceDir(name), 'peers.json.lock');
  writeFileSync(lock, JSON.stringify({ pid: process.pid, host: hostname(), token: 'theirs', since: new Date().toISOString() }));
  return lock;
}

/** Waits for a held lock with a 300 ms timeout, the wall clock stepped by `stepMs` 50 ms in: what `busyError` was told, and the elapsed time. */
async function waitFor(lock: string, stepMs: number): Promise<{ waitedMs: number; elapsedMs: number }> {
  vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
  const step = setTimeout(() => vi.setSystemTime(Date.now() + stepMs), 50);
  const started = performance.now();
  try {
    await withFileLock(lock, () => undefined, { timeoutMs: 300, staleMs: 60_000, busyError: (_holder, waitedMs) => Object.assign(new Error('busy'), { waitedMs }) });
    throw new Error('took a lock held by a live process');
  } catch (error) {
    return { waitedMs: (error as { waitedMs: number }).waitedMs, elapsedMs: performance.now() - started };
  } finally {
    clearTimeout(step);
  }
}

describe('waiting for a file lock when the wall clock is stepped', () => {
  it('waits its timeout, and says so, when the clock steps forward', async () => {
    const { waitedMs, elapsedMs } = await waitFor(heldLock('clock-forward'), STEP_MS);
    expect(elapsedMs).toBeGreaterThanOrEqual(290);
    expect(waitedMs).toBeGreaterThanOrEqual(300);
    expect(waitedMs).toBeLessThan(2_000);
  });

  it('gives up after its timeout, not the step\'s length, when the clock steps back', async () => {
    const { waitedMs, elapsedMs } = await waitFor(heldLock('clock-back'), -STEP_MS);
    expect(elapsedMs).toBeLessThan(2_000);
    expect(waitedMs).toBeLessThan(2_000);
  }, 10_000);
});
