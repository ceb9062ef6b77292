import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { isoTime } from '../../src/core/iso-time.js';

/** What isoTime must equal: the platform's own text, or the error it throws. */
function platform(ms: number): string {
  try {
    return new Date(ms).toISOString();
  } catch (error) {
    return `throws ${(error as Error).name}`;
  }
}

function ours(ms: number): string {
  try {
    return isoTime(ms);
  } catch (error) {
    return `throws ${(error as Error).name}`;
  }
}

describe('isoTime', () => {
  it('writes any instant as toISOString does: integers, fractions, before 1970, past year 9999, not a time', () => {
    const instant = fc.oneof(
      fc.integer({ min: -8.64e15, max: 8.64e15 }),
      fc.double({ min: -8.64e15, max: 8.64e15, noNaN: false }),
      fc.constantFrom(0, -0, -0.5, 0.999, 999.9999, 253_402_300_799_999, 253_402_300_800_000, -1, Number.NaN, Number.POSITIVE_INFINITY, 8.64e15 + 1),
    );
    fc.assert(fc.property(instant, (ms) => {
      expect(ours(ms)).toBe(platform(ms));
    }), { numRuns: 5000 });
  });

  it('stays right when calls walk through one second and jump between seconds (the cached text is per second)', () => {
    // Runs of nearby instants, in any order, so that the cache is both reused and replaced.
    const walk = fc.tuple(fc.integer({ min: 0, max: 4e12 }), fc.array(fc.integer({ min: -2500, max: 2500 }), { minLength: 1, maxLength: 60 }));
    fc.assert(fc.property(walk, ([start, steps]) => {
      for (const step of steps) expect(isoTime(start + step)).toBe(new Date(start + step).toISOString());
    }), { numRuns: 2000 });
  });

  it('formats each second once while calls alternate between a few seconds (a creation time and an expiry in one answer)', () => {
    const created = Date.UTC(2031, 0, 2, 3, 4, 5, 6);
    const expires = created + 600_000;
    const formatted = vi.spyOn(Date.prototype, 'toISOString');
    try {
      for (let i = 0; i < 50; i++) {
        expect(isoTime(created + (i % 7))).toBe(new Date(created + (i % 7)).toISOString());
        expect(isoTime(expires + (i % 7))).toBe(new Date(expires + (i % 7)).toISOString());
      }
      // 100 checks above call toISOString themselves; isoTime adds one per second it first meets.
      expect(formatted).toHaveBeenCalledTimes(100 + 2);
    } finally {
      formatted.mockRestore();
    }
  });

  it('pads milliseconds to three digits', () => {
    expect(isoTime(Date.UTC(2026, 11, 3, 4, 35, 11, 7))).toBe('2026-12-03T04:35:11.007Z');
    expect(isoTime(Date.UTC(2026, 11, 3, 4, 35, 11, 70))).toBe('2026-12-03T04:35:11.070Z');
    expect(isoTime(Date.UTC(2026, 11, 3, 4, 35, 11, 700))).toBe('2026-12-03T04:35:11.700Z');
  });
});
