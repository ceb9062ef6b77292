import { describe, expect, it } from 'vitest';
import { CodeFormat } from '../../src/core/codes.js';

/**
 * A code is read character by character as a person sees them: by code points, not UTF-16 units.
 * An emoji (two units, a surrogate pair) was refused as `U+D83D (character 1)`, half of itself, by
 * a number no one typed, and every position after it counted one too many.
 */
describe('codes: foreign characters beyond the BMP', () => {
  const base20 = new CodeFormat({ alphabet: 'base20', length: 8 });

  it('names an emoji whole, at the position a person counts', () => {
    expect(base20.parse('😀BCDFGHJ')).toMatchObject({ ok: false, problem: 'bad_character', position: 1, message: expect.stringMatching(/^"😀" \(character 1\) cannot appear in a code: /) });
    expect(base20.parse('BC😀DFGHJ')).toMatchObject({ ok: false, problem: 'bad_character', position: 3, message: expect.stringMatching(/^"😀" \(character 3\) /) });
    // A skin tone after it is another code point: the first one is named, whole.
    expect(base20.parse('BCD👍🏽FGHJ')).toMatchObject({ position: 4, message: expect.stringMatching(/^"👍" \(character 4\) /) });
  });

  it('returns the refused character whole and the length in characters, so a door saying it in its own words need not count again', () => {
    expect(base20.parse('BC😀DFGHJ')).toMatchObject({ problem: 'bad_character', character: '😀', position: 3, length: 8 });
    expect(base20.parse('BCD👍🏽FGHJ')).toMatchObject({ character: '👍', position: 4, length: 9 });
    expect(base20.parse('BCDFGH')).toMatchObject({ problem: 'wrong_length', length: 6 });
    expect(base20.parse(' - ')).toMatchObject({ problem: 'empty', length: 0 });
  });

  it('shows an invisible character beyond the BMP by its own code point, not half of it', () => {
    // U+1D173, a musical formatting character (Cf), prints as nothing.
    expect(base20.parse('BCDF\u{1D173}GHJ')).toMatchObject({ position: 5, message: expect.stringMatching(/^U\+1D173 \(character 5\) /) });
  });

  it('never names half of a surrogate pair', () => {
    for (const emoji of ['😀', '🦄', '𝐁', '🇫🇷']) {
      const parsed = base20.parse(`BCDF${emoji}`);
      expect(parsed.ok, emoji).toBe(false);
      if (!parsed.ok) expect(parsed.message, emoji).not.toMatch(/U\+D[89A-F][0-9A-F]{2}\b/);
    }
  });
});
