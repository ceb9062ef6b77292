import { describe, expect, it } from 'vitest';
import { REFUSAL_LOG_INTERVAL_MS, ThrottledRefusals } from '../../src/server/metrics.js';

describe('ThrottledRefusals (a door\'s refusals told at most once a minute)', () => {
  it('tells the first refusal, then the counts once the minute has passed', () => {
    let now = 1_700_000_000_000;
    const told: Array<[string, number]> = [];
    const refusals = new ThrottledRefusals<'misses_hour'>((door, _refused, total) => told.push([door, total]), () => now);
    refusals.note('pair', 'misses_hour');
    for (let i = 0; i < 5; i++) refusals.note('pair', 'misses_hour');
    now += REFUSAL_LOG_INTERVAL_MS;
    refusals.note('pair', 'misses_hour');
    expect(told).toEqual([['pair', 1], ['pair', 6]]);
  });

  it('is not silenced for the step when the wall clock is stepped back (an hour back kept every warning an hour)', () => {
    let now = 1_700_000_000_000;
    const told: Array<[string, number]> = [];
    const refusals = new ThrottledRefusals<'capacity'>((door, _refused, total) => told.push([door, total]), () => now);
    refusals.note('device', 'capacity');
    now -= 3_600_000;
    for (let i = 0; i < 3; i++) refusals.note('device', 'capacity');
    // The first refusal after the step is told at once; the next ones wait out a minute from it.
    expect(told).toEqual([['device', 1], ['device', 1]]);
    now += REFUSAL_LOG_INTERVAL_MS;
    refusals.note('device', 'capacity');
    expect(told).toEqual([['device', 1], ['device', 1], ['device', 3]]);
  });
});
