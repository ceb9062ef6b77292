import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import type { Door } from '../../src/doors/door.js';
import { DOOR_SWEEP_MIN_SECONDS, doorSweepPeriodMs, doorSweeps, type DoorSweep } from '../../src/server/door-sweeps.js';
import { createTestApp } from '../helpers/app.js';

/** The doors' sweeps run for minutes; only the interval timers are faked, so the app and its stores run as usual. */
function fakeIntervals(): void {
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
}

/** Lets the sweeps started by the last tick settle (their failures logged): a turn of the real event loop. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A sweep that records the times it was given, and fails (rejects) on the runs listed in `failing` (1 = first). */
function recordingSweep(failing: readonly number[] = []): { sweep: DoorSweep; times: number[] } {
  const times: number[] = [];
  const sweep: DoorSweep = async (now) => {
    times.push(now);
    if (failing.includes(times.length)) throw new Error(`run ${times.length} failed`);
  };
  return { sweep, times };
}

describe('doorSweeps (the doors\' everySweep)', () => {
  const periodMs = 60_000;
  let clock: ManualClock;
  let app: FastifyInstance;
  let warn: ReturnType<typeof vi.fn>;
  let everySweep: ReturnType<typeof doorSweeps>;
  beforeEach(() => {
    fakeIntervals();
    clock = new ManualClock();
    app = Fastify();
    warn = vi.fn();
    everySweep = doorSweeps(app, { clock, logger: { warn } as unknown as FastifyBaseLogger, periodMs });
  });
  afterEach(async () => {
    await app.close();
    vi.useRealTimers();
  });

  it('runs the sweep once each period, with the clock\'s time at that run', async () => {
    const { sweep, times } = recordingSweep();
    everySweep('test', sweep);
    await vi.advanceTimersByTimeAsync(periodMs - 1);
    expect(times).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(times).toEqual([clock.now()]);
    clock.advance(12_345);
    await vi.advanceTimersByTimeAsync(periodMs);
    expect(times).toEqual([clock.now() - 12_345, clock.now()]);
    await vi.advanceTimersByTimeAsync(3 * periodMs);
    expect(times).toHaveLength(5);
  });

  it('logs a failed run as "<name> sweep failed" and runs again at the next period', async () => {
    const { sweep, times } = recordingSweep([1]);
    everySweep('installation', sweep);
    await vi.advanceTimersByTimeAsync(periodMs);
    await settle();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith({ err: expect.objectContaining({ message: 'run 1 failed' }) }, 'installation sweep failed');
    await vi.advanceTimersByTimeAsync(periodMs);
    await settle();
    expect(times).toHaveLength(2);
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('logs a sweep that throws before returning its promise, and keeps running it', async () => {
    let runs = 0;
    everySweep('account', () => {
      runs += 1;
      throw new Error('thrown at once');
    });
    await vi.advanceTimersByTimeAsync(2 * periodMs);
    await settle();
    expect(runs).toBe(2);
    expect(warn).toHaveBeenCalledTimes(2);
    expect(warn).toHaveBeenLastCalledWith({ err: expect.objectContaining({ message: 'thrown at once' }) }, 'account sweep failed');
  });

  it('skips a run due while the last one still runs, says so, and runs again once it has finished', async () => {
    let finish = (): void => {};
    let runs = 0;
    everySweep('slow', () => {
      runs += 1;
      return new Promise<void>((resolve) => {
        finish = resolve;
      });
    });
    await vi.advanceTimersByTimeAsync(3 * periodMs);
    expect(runs).toBe(1);
    expect(warn).toHaveBeenCalledTimes(2);
    expect(warn).toHaveBeenLastCalledWith('slow sweep still running after 60 s; this run skipped');
    finish();
    await settle();
    await vi.advanceTimersByTimeAsync(periodMs);
    expect(runs).toBe(2);
  });

  it('runs again after a failed run has finished failing', async () => {
    const { sweep, times } = recordingSweep([1, 2]);
    everySweep('failing', sweep);
    for (let i = 0; i < 3; i++) {
      await vi.advanceTimersByTimeAsync(periodMs);
      await settle();
    }
    expect(times).toHaveLength(3);
    expect(warn.mock.calls.map((call) => call[1])).toEqual(['failing sweep failed', 'failing sweep failed']);
  });

  it('keeps each sweep\'s own name and timer', async () => {
    const accesses = recordingSweep([1]);
    const tokens = recordingSweep([2]);
    everySweep('app access', accesses.sweep);
    everySweep('device token', tokens.sweep);
    await vi.advanceTimersByTimeAsync(2 * periodMs);
    await settle();
    expect([accesses.times.length, tokens.times.length]).toEqual([2, 2]);
    expect(warn.mock.calls.map((call) => call[1])).toEqual(['app access sweep failed', 'device token sweep failed']);
  });

  it('does not keep the process alive', () => {
    const setIntervalSpy = vi.spyOn(globalThis, 'setInterval');
    everySweep('test', recordingSweep().sweep);
    const timer = setIntervalSpy.mock.results[0]?.value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
  });

  it('runs no sweep once the app has closed', async () => {
    const { sweep, times } = recordingSweep();
    everySweep('test', sweep);
    await vi.advanceTimersByTimeAsync(periodMs);
    expect(times).toHaveLength(1);
    await app.close();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(10 * periodMs);
    expect(times).toHaveLength(1);
  });
});

describe('doorSweepPeriodMs', () => {
  it('is PAIRGATE_SWEEP_SECONDS, but never under a minute', () => {
    expect(DOOR_SWEEP_MIN_SECONDS).toBe(60);
    expect(doorSweepPeriodMs(1)).toBe(60_000);
    expect(doorSweepPeriodMs(30)).toBe(60_000);
    expect(doorSweepPeriodMs(60)).toBe(60_000);
    expect(doorSweepPeriodMs(300)).toBe(300_000);
  });
});

describe('a door\'s everySweep in the app', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sweeps every minute with the app\'s clock even when PAIRGATE_SWEEP_SECONDS is 1, logs failures in the app\'s log, and stops when the app closes', async () => {
    fakeIntervals();
    const clock = new ManualClock(Date.now());
    const { sweep, times } = recordingSweep([1]);
    const sweepingDoor: Door = {
      name: 'sweeping',
      async register(_app, ctx) {
        ctx.everySweep('sweeping door', sweep);
      },
    };
    const t = await createTestApp({ PAIRGATE_SWEEP_SECONDS: '1' }, { clock, doors: [sweepingDoor] });
    let closed = false;
    try {
      await vi.advanceTimersByTimeAsync(59_000);
      expect(times).toEqual([]);
      await vi.advanceTimersByTimeAsync(1_000);
      await settle();
      expect(times).toEqual([clock.now()]);
      const failure = t.logs.map((line) => JSON.parse(line) as { level: number; msg: string; err?: { message: string } }).find((line) => line.msg === 'sweeping door sweep failed');
      expect(failure).toMatchObject({ level: 40, err: { message: 'run 1 failed' } });
      await vi.advanceTimersByTimeAsync(60_000);
      expect(times).toHaveLength(2);

      await t.close();
      closed = true;
      await vi.advanceTimersByTimeAsync(10 * 60_000);
      expect(times).toHaveLength(2);
    } finally {
      if (!closed) await t.close();
    }
  });

  it('the server\'s own sweeps (grants, ephemeral entries) are not run again while a run is still going: skipped and said', async () => {
    fakeIntervals();
    const t = await createTestApp({ PAIRGATE_SWEEP_SECONDS: '1' });
    const stores = t.app.pairgate.stores;
    let running = 0;
    let most = 0;
    let calls = 0;
    let finish: () => void = () => {};
    const slow = new Promise<void>((resolve) => { finish = resolve; });
    stores.sweepEphemeral = async () => {
      calls += 1;
      running += 1;
      most = Math.max(most, running);
      await slow;
      running -= 1;
      return 0;
    };
    try {
      for (let i = 0; i < 3; i++) {
        await vi.advanceTimersByTimeAsync(1_000);
        await settle();
      }
      expect(calls).toBe(1);
      expect(most).toBe(1);
      const skipped = t.logs.map((line) => JSON.parse(line) as { level: number; msg: string }).filter((line) => line.msg === 'ephemeral sweep still running after 1 s; this run skipped');
      expect(skipped).toHaveLength(2);
      finish();
      await settle();
      await vi.advanceTimersByTimeAsync(1_000);
      await settle();
      expect(calls).toBe(2);
    } finally {
      finish();
      await t.close();
    }
  });
});
