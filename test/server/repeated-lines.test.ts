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
});
