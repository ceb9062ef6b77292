import { describe, expect, it } from 'vitest';
import { RepeatedLines } from '../../src/server/repeated-lines.js';

describe('RepeatedLines (alike log lines, the first of each window)', () => {
  it('admits the first of a kind, leaves the others out for the window, then tells how many', () => {
    let now = 1_000;
    const lines = new RepeatedLines(10_000, () => now);
    expect(lines.admit('SQLITE_FULL')).toBe(0);
    for (let i = 0; i < 40; i++) expect(lines.admit('SQLITE_FULL')).toBeUndefined();
    // Another kind has its own window.
    expect(lines.admit('ECONNREFUSED')).toBe(0);
    now += 9_999;
    expect(lines.admit('SQLITE_FULL')).toBeUndefined();
    now += 1;
    expect(lines.admit('SQLITE_FULL')).toBe(41);
    expect(lines.admit('SQLITE_FULL')).toBeUndefined();
    now += 60_000;
    expect(lines.admit('SQLITE_FULL')).toBe(1);
    now += 60_000;
    expect(lines.admit('SQLITE_FULL')).toBe(0);
  });

  it('ends the window at once when an injected clock goes back, rather than silencing the kind for the step', () => {
    let now = 1_700_000_000_000;
    const lines = new RepeatedLines(60_000, () => now);
    expect(lines.admit('door')).toBe(0);
    expect(lines.admit('door')).toBeUndefined();
    now -= 3_600_000;
    expect(lines.admit('door')).toBe(1);
    expect(lines.admit('door')).toBeUndefined();
  });
});
