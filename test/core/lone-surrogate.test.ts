import { describe, expect, it } from 'vitest';
import { hasLoneSurrogate } from '../../src/core/lone-surrogate.js';

describe('hasLoneSurrogate', () => {
  it('tells lone UTF-16 surrogates from pairs', () => {
    expect(hasLoneSurrogate('\ud800')).toBe(true);
    expect(hasLoneSurrogate('a\udc00b')).toBe(true);
    expect(hasLoneSurrogate('\ude00\ud83d')).toBe(true);
    expect(hasLoneSurrogate('\ud83d\ude00x\ud800')).toBe(true);
    expect(hasLoneSurrogate('\ud83d\ude00')).toBe(false);
    expect(hasLoneSurrogate('plain text é')).toBe(false);
    expect(hasLoneSurrogate('')).toBe(false);
  });
});
