import { describe, expect, it } from 'vitest';
import { constantTimeEqual, hashToken, isTokenShaped, randomId, randomToken, timeOrderedId } from '../../src/core/ids.js';
import { ConfigError, NotFoundError, PairgateError, RateLimitedError, isPairgateError } from '../../src/core/errors.js';

describe('ids and tokens', () => {
  it('makes 128-bit ids and 256-bit tokens, never repeating', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => randomId()));
    expect(ids.size).toBe(10_000);
    expect(Buffer.from(randomId(), 'base64url')).toHaveLength(16);
    expect(Buffer.from(randomToken(), 'base64url')).toHaveLength(32);
  });

  it('makes time-ordered ids that sort by creation and keep 128 random bits', () => {
    const earlier = timeOrderedId(1_700_000_000_000);
    const later = timeOrderedId(1_700_000_000_001);
    expect(earlier < later).toBe(true);
    expect(earlier.slice(0, 12)).toBe((1_700_000_000_000).toString(16).padStart(12, '0'));
    expect(Buffer.from(earlier.slice(12), 'base64url')).toHaveLength(16);
    expect(earlier).toMatch(/^[0-9a-f]{12}[A-Za-z0-9_-]{22}$/);
    const sameInstant = new Set(Array.from({ length: 1_000 }, () => timeOrderedId(1_700_000_000_000)));
    expect(sameInstant.size).toBe(1_000);
  });

  it('writes each id\'s own millisecond, whatever time the id before it had', () => {
    const prefix = (now: number): string => timeOrderedId(now).slice(0, 12);
    for (const now of [1_700_000_000_000, 1_700_000_000_000.9, 1_700_000_000_001, 1_000, 1_700_000_000_000, 0, -5, 0xffff_ffff_ffff]) {
      expect(prefix(now)).toBe(Math.max(0, Math.floor(now)).toString(16).padStart(12, '0'));
    }
  });

  it('tells a token-shaped string (what randomToken makes) from anything else', () => {
    for (let i = 0; i < 100; i++) expect(isTokenShaped(randomToken())).toBe(true);
    for (const other of ['', 'x'.repeat(42), 'x'.repeat(44), `${'x'.repeat(42)}=`, `${'x'.repeat(42)}+`, `${'x'.repeat(42)}\n`, randomToken(16)]) expect(isTokenShaped(other)).toBe(false);
  });

  it('hashes deterministically and one-way', () => {
    const token = randomToken();
    expect(hashToken(token)).toBe(hashToken(token));
    expect(hashToken(token)).not.toContain(token);
    expect(hashToken('a')).not.toBe(hashToken('b'));
  });

  it('compares secrets exactly', () => {
    expect(constantTimeEqual('secret', 'secret')).toBe(true);
    expect(constantTimeEqual('secret', 'secreT')).toBe(false);
    expect(constantTimeEqual('secret', 'secret2')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);
  });
});

describe('errors', () => {
  it('carry a stable code, a status and a message', () => {
    const error = new NotFoundError('gone', 'code_not_found');
    expect(error).toBeInstanceOf(PairgateError);
    expect(isPairgateError(error)).toBe(true);
    expect(isPairgateError(new Error('x'))).toBe(false);
    expect([error.code, error.status, error.message, error.name]).toEqual(['code_not_found', 404, 'gone', 'NotFoundError']);
    expect(new RateLimitedError(7).details).toEqual({ retryAfterSeconds: 7 });
    expect(new ConfigError('PAIRGATE_PORT', 'bad').message).toBe('PAIRGATE_PORT: bad');
  });
});
