import { describe, expect, it } from 'vitest';
import { randomTextPooled, readPooled } from '../../src/core/random-pool.js';

/** `size` bytes drawn with readPooled, copied out. */
function drawn(size: number): Buffer {
  return readPooled(size, (bytes, start, end) => Buffer.from(bytes.subarray(start, end)));
}

describe('readPooled', () => {
  it('shows the size asked, across pool refills, never the same bytes twice', () => {
    const seen = new Set<string>();
    // 3000 draws of 16 bytes cross ten refills of the 4 KiB pool.
    for (let i = 0; i < 3000; i++) {
      const bytes = drawn(16);
      expect(bytes).toHaveLength(16);
      seen.add(bytes.toString('hex'));
    }
    expect(seen.size).toBe(3000);
  });

  it('wipes the bytes it showed once read returns, and passes on what read returns', () => {
    let shown: Uint8Array | undefined;
    let range: [number, number] = [0, 0];
    const copy = readPooled(32, (bytes, start, end) => {
      shown = bytes;
      range = [start, end];
      return Buffer.from(bytes.subarray(start, end));
    });
    expect(copy.some((byte) => byte !== 0)).toBe(true);
    expect([...shown!.subarray(...range)].every((byte) => byte === 0)).toBe(true);
  });

  it('wipes them when read throws too', () => {
    let shown: Uint8Array | undefined;
    let range: [number, number] = [0, 0];
    expect(() => readPooled(32, (bytes, start, end) => {
      shown = bytes;
      range = [start, end];
      throw new Error('read failed');
    })).toThrow('read failed');
    expect([...shown!.subarray(...range)].every((byte) => byte === 0)).toBe(true);
  });

  it('draws more than a quarter of the pool directly', () => {
    const bytes = drawn(4096);
    expect(bytes).toHaveLength(4096);
    expect(new Set(bytes).size).toBeGreaterThan(200);
  });

  it('looks uniform: every byte value appears, none far more often than the others', () => {
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 256; i++) for (const byte of drawn(256)) counts[byte]!++;
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

  it('shares the pool with readPooled without handing out any byte twice', () => {
    // Draws alternate between the two across refills; 32-byte draws repeat only if bytes are reused.
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      seen.add(randomTextPooled(32, 'hex'));
      seen.add(drawn(32).toString('hex'));
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
