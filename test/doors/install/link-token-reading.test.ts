import { describe, expect, it } from 'vitest';
import { readLinkToken } from '../../../src/doors/install/link-tokens.js';

/** What a chat command is told of a malformed link token: the character refused is whole, the length in characters. */
describe('reading a typed link token', () => {
  it('names an emoji typed in a token whole, never half of its surrogate pair, and counts it as one character', () => {
    const read = readLinkToken('ab😀cd');
    expect(read.ok).toBe(false);
    if (read.ok) return;
    expect(read.character).toBe('😀');
    expect(read.length).toBe(5);
  });
});
