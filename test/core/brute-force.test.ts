import { describe, expect, it } from 'vitest';
import { assertWithinBudget, fixedWindowAttempts, formatProbability, guessProbability, maxLiveCodes } from '../../src/core/brute-force.js';

describe('brute-force arithmetic', () => {
  it('matches the closed form for small numbers', () => {
    // 10 bits = 1024 codes, 1 live, 1 guess: 1/1024.
    expect(guessProbability({ entropyBits: 10, liveCodes: 1, ttlSeconds: 1, attemptsPerSecond: 1 })).toBeCloseTo(1 / 1024, 12);
    // 2 guesses against 1 live in 4: 1 - (3/4)^2.
    expect(guessProbability({ entropyBits: 2, liveCodes: 1, ttlSeconds: 2, attemptsPerSecond: 1 })).toBeCloseTo(1 - 0.75 ** 2, 12);
  });

  it('grows with live codes, time and rate, and shrinks with entropy', () => {
    const base = { entropyBits: 34.6, liveCodes: 1000, ttlSeconds: 600, attemptsPerSecond: 10 };
    const p = guessProbability(base);
    expect(guessProbability({ ...base, liveCodes: 2000 })).toBeGreaterThan(p);
    expect(guessProbability({ ...base, ttlSeconds: 1200 })).toBeGreaterThan(p);
    expect(guessProbability({ ...base, attemptsPerSecond: 20 })).toBeGreaterThan(p);
    expect(guessProbability({ ...base, entropyBits: 40 })).toBeLessThan(p);
    // RFC 8628's example: base-20, 8 chars, is about 2^34.6 codes.
    expect(p).toBeGreaterThan(1e-4);
    expect(p).toBeLessThan(1e-3);
  });

  it('keeps tiny probabilities from rounding to zero', () => {
    expect(guessProbability({ entropyBits: 128, liveCodes: 1, ttlSeconds: 1, attemptsPerSecond: 1 })).toBeGreaterThan(0);
  });

  it('is 0 with no attempts and 1 when every code is live', () => {
    expect(guessProbability({ entropyBits: 10, liveCodes: 5, ttlSeconds: 0, attemptsPerSecond: 1 })).toBe(0);
    expect(guessProbability({ entropyBits: 1, liveCodes: 2, ttlSeconds: 1, attemptsPerSecond: 1 })).toBe(1);
    expect(() => guessProbability({ entropyBits: -1, liveCodes: 1, ttlSeconds: 1, attemptsPerSecond: 1 })).toThrow(RangeError);
  });

  it('inverts: maxLiveCodes stays within the budget and one more exceeds it', () => {
    const scenario = { entropyBits: 30, ttlSeconds: 600, attemptsPerSecond: 5 };
    const budget = 1e-3;
    const max = maxLiveCodes(scenario, budget);
    expect(guessProbability({ ...scenario, liveCodes: max })).toBeLessThanOrEqual(budget);
    expect(guessProbability({ ...scenario, liveCodes: max + 2 })).toBeGreaterThan(budget);
  });

  it('refuses a configuration over budget, naming the key', () => {
    expect(() => assertWithinBudget('CODE_LENGTH', { entropyBits: 12, liveCodes: 100, ttlSeconds: 600, attemptsPerSecond: 1 }, 1e-3)).toThrow(/CODE_LENGTH: .*above the budget/);
    expect(assertWithinBudget('K', { entropyBits: 64, liveCodes: 100, ttlSeconds: 600, attemptsPerSecond: 1 }, 1e-3)).toBeLessThan(1e-3);
  });

  it('formats probabilities for people', () => {
    expect(formatProbability(1 / 2_400_000)).toBe('1 in 2.40 million');
    expect(formatProbability(0.001)).toBe('1 in 1,000');
    expect(formatProbability(0)).toBe('0');
    expect(formatProbability(1)).toBe('100%');
    expect(formatProbability(0.75)).toBe('75%');
    expect(formatProbability(0.4)).toBe('1 in 3');
  });

  it('says the refused scenario in rounded figures, not the raw floating-point ones', () => {
    // 1000 addresses at 1 look-up a minute each: 16.666... guesses a second.
    expect(() => assertWithinBudget('K', { entropyBits: 20, liveCodes: 1000, ttlSeconds: 600, attemptsPerSecond: 1000 / 60 }, 1e-3))
      .toThrow('K: codes of 20.0 bits with up to 1000 live for 600 s at 16.7 guesses/s give an attacker a 100% chance, above the budget of 1 in 1,000.');
  });
});

describe('fixedWindowAttempts', () => {
  it('counts every window a span can touch: a budget per hour is spent twice within ten minutes', () => {
    expect(fixedWindowAttempts(60, 3600, 600)).toBe(120);
    expect(fixedWindowAttempts(60, 3600, 3600)).toBe(120);
    expect(fixedWindowAttempts(60, 3600, 3601)).toBe(180);
    expect(fixedWindowAttempts(30, 60, 600)).toBe(330);
    expect(fixedWindowAttempts(5, 300, 600)).toBe(15);
    expect(fixedWindowAttempts(5, 300, 0)).toBe(0);
  });

  it('refuses figures that are not counts', () => {
    expect(() => fixedWindowAttempts(-1, 60, 60)).toThrow(RangeError);
    expect(() => fixedWindowAttempts(1, 0, 60)).toThrow(RangeError);
    expect(() => fixedWindowAttempts(1, 60, Number.NaN)).toThrow(RangeError);
  });
});
