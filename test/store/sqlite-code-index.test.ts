import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { timeOrderedId } from '../../src/core/ids.js';
import { CodeIndex, codeKey } from '../../src/store/sqlite/code-index.js';

/** A code hash whose key (`codeKey`) is `key`: the first five base64url characters carry it. */
function hashWithKey(key: number, rest = 'rest-of-the-hash'): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  let text = '';
  for (let i = 4; i >= 0; i--) text += alphabet[Math.floor(key / 64 ** i) % 64];
  return text + rest;
}

type Step = { op: 'hold' | 'release'; key: number; id: number } | { op: 'clear' };

/** Ids of pairgate's own shape, and a few of other shapes (a door's chosen id, non-ASCII). */
const IDS = [...Array.from({ length: 12 }, () => timeOrderedId()), 'support-session:ada', 'short', 'é'.repeat(34), 'x'.repeat(40)];

describe('CodeIndex (the SQLite store\'s codes in typed arrays)', () => {
  it('keys a hash by its first 30 bits', () => {
    expect(codeKey(hashWithKey(12_345_678))).toBe(12_345_678);
  });

  it('answers as a Map of key to id would, through holds, releases, takeovers and clears', () => {
    // Keys from a small range collide in the table's cells, and from a wide one spread: both shapes.
    const key = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 2 ** 30 - 1 }), fc.integer({ min: 0, max: 40 }).map((k) => k * 1024));
    const step: fc.Arbitrary<Step> = fc.oneof(
      { weight: 6, arbitrary: fc.record({ op: fc.constant('hold' as const), key, id: fc.integer({ min: 0, max: IDS.length - 1 }) }) },
      // id -1: release as the grant holding the key (the usual case), else as another grant.
      { weight: 4, arbitrary: fc.record({ op: fc.constant('release' as const), key, id: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: IDS.length - 1 })) }) },
      { weight: 1, arbitrary: fc.constant({ op: 'clear' as const }) },
    );
    fc.assert(
      fc.property(fc.array(step, { minLength: 100, maxLength: 2000, size: 'max' }), (steps) => {
        const index = new CodeIndex();
        const model = new Map<number, string>();
        for (const s of steps) {
          if (s.op === 'clear') {
            index.clear();
            model.clear();
            continue;
          }
          const hash = hashWithKey(s.key);
          if (s.op === 'hold') {
            index.hold(hash, IDS[s.id]!);
            model.set(s.key, IDS[s.id]!);
          } else {
            const id = s.id === -1 ? (model.get(s.key) ?? IDS[0]!) : IDS[s.id]!;
            index.release(hash, id);
            if (model.get(s.key) === id) model.delete(s.key);
          }
          expect(index.holder(hash)).toBe(model.get(s.key));
        }
        // Every key still held answers, also those probed past cells released since.
        expect(index.size).toBe(model.size);
        for (const [k, id] of model) expect(index.holder(hashWithKey(k))).toBe(id);
      }),
      { numRuns: 60 },
    );
  });

  it('grows past its first table and keeps every code, and reuses what releases give back', () => {
    const index = new CodeIndex();
    const ids = Array.from({ length: 20_000 }, () => timeOrderedId());
    ids.forEach((id, i) => index.hold(hashWithKey(i * 7919), id));
    expect(index.size).toBe(20_000);
    ids.forEach((id, i) => expect(index.holder(hashWithKey(i * 7919))).toBe(id));
    // Release and hold new keys round after round, as codes come and go: the removed cells they
    // leave are cleared by rebuilds, so the table never fills with them (a probe would never end).
    const keyOf = (i: number, round: number) => (i * 7919 + round * 104_729) % 2 ** 30;
    for (let round = 1; round <= 8; round++) {
      ids.forEach((id, i) => index.release(hashWithKey(keyOf(i, round - 1)), id));
      expect(index.size).toBe(0);
      ids.forEach((id, i) => index.hold(hashWithKey(keyOf(i, round)), id));
      ids.forEach((id, i) => expect(index.holder(hashWithKey(keyOf(i, round)))).toBe(id));
    }
    ids.forEach((id, i) => index.release(hashWithKey(keyOf(i, 8)), id));
    ids.forEach((id, i) => index.hold(hashWithKey(i * 7919), id));
    expect(index.size).toBe(20_000);
    expect(index.holder(hashWithKey(1))).toBeUndefined();
  });

  it('does not release a code another grant took over', () => {
    const index = new CodeIndex();
    const [first, second] = [timeOrderedId(), timeOrderedId()];
    index.hold(hashWithKey(5), first);
    index.hold(hashWithKey(5), second);
    index.release(hashWithKey(5), first);
    expect(index.holder(hashWithKey(5))).toBe(second);
    index.release(hashWithKey(5), second);
    expect(index.holder(hashWithKey(5))).toBeUndefined();
  });
});
