import { describe, expect, it } from 'vitest';
import { proofMatches, receivedBytes } from '../../../src/doors/lan/secret-proof.js';

describe('reading what the other device sent for a proof', () => {
  it('decodes a base64url field, and reads any other type as no bytes, which no proof matches', () => {
    const proof = Buffer.from('a proof of thirty-two bytes long!');
    expect(receivedBytes(proof.toString('base64url'))).toEqual(proof);
    for (const field of [undefined, null, 42, { toString: 1 }, ['AAAA'], true]) {
      expect(receivedBytes(field)).toEqual(Buffer.alloc(0));
      expect(proofMatches(proof, receivedBytes(field))).toBe(false);
    }
  });

  it('a proof matches only the same bytes, of the same length', () => {
    const proof = Buffer.alloc(32, 7);
    expect(proofMatches(proof, Buffer.alloc(32, 7))).toBe(true);
    expect(proofMatches(proof, Buffer.alloc(31, 7))).toBe(false);
    expect(proofMatches(proof, Buffer.concat([Buffer.alloc(31, 7), Buffer.from([8])]))).toBe(false);
  });
});
