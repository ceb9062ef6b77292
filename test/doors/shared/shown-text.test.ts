import { describe, expect, it } from 'vitest';
import { hasUnshowableText } from '../../../src/doors/shared/shown-text.js';

/**
 * The strict rule of names that say who asks (a box, an app, a supporter, an e-mail address):
 * invisible characters are refused, except inside an emoji sequence, where they make one picture.
 */
describe('shown text: the strict rule and emoji sequences', () => {
  it('takes emoji whose sequences hold joiners, presentation selectors, skin tones or keycaps', () => {
    for (const name of ['Family 👨‍👩‍👧', 'Anna ❤️', 'Kitchen 🏠', '👍🏽 box', 'Room 1️⃣', '🏳️‍🌈 flat', 'cafe ☕︎']) {
      expect(hasUnshowableText(name, true), JSON.stringify(name)).toBe(false);
    }
  });

  it('still refuses a joiner or selector outside such a sequence, and every other invisible character', () => {
    for (const name of ['my\u200d-bank', '\u200d👨 box', '👨\u200d', '👨\u200d box', 'a\ufe0f', 'Kitc\u200bhen', 'box\u2060', '\ufeffbox', 'e\u0301\u0301\u0301\u0301']) {
      expect(hasUnshowableText(name, true), JSON.stringify(name)).toBe(true);
    }
  });

  it('refuses text-direction and control characters next to emoji too', () => {
    expect(hasUnshowableText('👨‍👩‍👧\u202e', true)).toBe(true);
    expect(hasUnshowableText('❤️\u0000', true)).toBe(true);
  });
});
