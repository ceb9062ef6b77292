import { describe, expect, it } from 'vitest';
import { secondsUntilFirstFree } from '../../../src/doors/shared/numbered-slots.js';

/** The wait a full cap's 429 tells (Retry-After), from the slots a `take` found held. */
describe('secondsUntilFirstFree', () => {
  const slot = (expiresAt: number) => ({ key: `k${expiresAt}`, slot: 0, value: 'v', expiresAt });

  it('is the whole seconds until the first held slot expires, at least one', () => {
    expect(secondsUntilFirstFree([slot(10_500), slot(4_200)], 1_000)).toBe(4);
    expect(secondsUntilFirstFree([slot(1_001)], 1_000)).toBe(1);
    expect(secondsUntilFirstFree([slot(900)], 1_000)).toBe(1);
  });

  it('is one second, not an endless wait, when a take gave up with no slot listed (each lapsed between its tries)', () => {
    expect(secondsUntilFirstFree([], 1_000)).toBe(1);
  });
});
