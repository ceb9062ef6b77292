import { describe, expect, it } from 'vitest';
import { randomBytesPooled, randomTextPooled } from '../../src/core/random-pool.js';

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

describe('randomTextPooled', () => {
  it('writes the size asked in the encoding asked, across pool refills, never the same bytes twice', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      const text = randomTextPooled(16, 'base64url');
      expect(text).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(Buffer.from(text, 'base64url')).toHaveLength(16);
      seen.add(text);
    }
    expect(seen.size).toBe(3000);
    expect(randomTextPooled(5, 'hex')).toMatch(/^[0-9a-f]{10}$/);
    expect(randomTextPooled(2000, 'hex')).toMatch(/^[0-9a-f]{4000}$/); // drawn directly
  });

  it('shares the pool with randomBytesPooled without handing out any byte twice', () => {
    // Draws alternate between the two across refills; 32-byte draws repeat only if bytes are reused.
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      seen.add(randomTextPooled(32, 'hex'));
      seen.add(randomBytesPooled(32).toString('hex'));
    }
    expect(seen.size).toBe(2000);
  });

  it('looks uniform: every byte value appears, none far more often than the others', () => {
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 256; i++) for (const byte of Buffer.from(randomTextPooled(256, 'hex'), 'hex')) counts[byte]!++;
    expect(Math.min(...counts)).toBeGreaterThan(150);
    expect(Math.max(...counts)).toBeLessThan(370);
  });
});
