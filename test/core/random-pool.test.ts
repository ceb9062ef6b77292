import { describe, expect, it } from 'vitest';
import { randomBytesPooled } from '../../src/core/random-pool.js';

describe('randomBytesPooled', () => {
  it('hands out the size asked, across pool refills, never the same bytes twice', () => {
    const seen = new Set<string>();
    // 3000 draws of 16 bytes cross ten refills of the 4 KiB pool.
    for (let i = 0; i < 3000; i++) {
      const bytes = randomBytesPooled(16);
      expect(bytes).toHaveLength(16);
      seen.add(bytes.toString('hex'));
    }
    expect(seen.size).toBe(3000);
  });

  it('gives each caller its own copy', () => {
    const first = randomBytesPooled(8);
    const kept = Buffer.from(first);
    randomBytesPooled(4096); // more than a quarter of the pool: drawn directly
    randomBytesPooled(8);
    expect(first.equals(kept)).toBe(true);
  });

  it('looks uniform: every byte value appears, none far more often than the others', () => {
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 256; i++) for (const byte of randomBytesPooled(256)) counts[byte]!++;
    // 65,536 bytes: 256 expected per value; a CSPRNG stays well inside these bounds.
    expect(Math.min(...counts)).toBeGreaterThan(150);
    expect(Math.max(...counts)).toBeLessThan(370);
  });
});
