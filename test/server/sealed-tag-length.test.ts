import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openToken, sealToken } from '../../src/doors/support/sealed-token.js';
import { SecretBox } from '../../src/server/secret-box.js';

/** A sealed value with its GCM tag cut to its first `bytes`, the other parts as they were. */
function cutTag(sealed: string, tagIndex: number, bytes: number): string {
  const parts = sealed.split('.');
  parts[tagIndex] = Buffer.from(parts[tagIndex]!, 'base64url').subarray(0, bytes).toString('base64url');
  return parts.join('.');
}

/**
 * AES-GCM values open only with their whole 16-byte tag: Node's decipher, told no tag length,
 * accepts a tag cut to 4 bytes, which someone who can write the stored value matches in 2^32
 * tries rather than 2^128.
 */
describe('sealed values refuse a truncated authentication tag', () => {
  it('SecretBox (install secrets, sealed results)', () => {
    const box = new SecretBox(randomBytes(32));
    const sealed = box.seal('bot-token', 'installations:bot_token:1');
    expect(box.open(sealed, 'installations:bot_token:1')).toBe('bot-token');
    for (const bytes of [4, 8, 12, 15]) expect(box.open(cutTag(sealed, 2, bytes), 'installations:bot_token:1')).toBeUndefined();
  });

  it('the support door\'s sealed agent token', () => {
    const sealed = sealToken('agent-token', 'code-key', 'salt');
    expect(openToken(sealed, 'code-key', 'salt')).toBe('agent-token');
    for (const bytes of [4, 8, 12, 15]) expect(openToken(cutTag(sealed, 1, bytes), 'code-key', 'salt')).toBeUndefined();
  });
});
