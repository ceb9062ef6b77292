import { describe, expect, it } from 'vitest';
import { findSecret } from './secret-sweep-flows.js';

describe('findSecret: what the secret sweeps count as a leak', () => {
  it('finds a short code written as a value: between quotes, spaces, slashes, = or :', () => {
    for (const text of ['{"code":"k7qm2x"}', 'user typed k7qm2x here', '/api/v1/codes/k7qm2x?wait=1', 'code=k7qm2x&x=1', 'pair:k7qm2x', 'k7qm2x']) {
      expect(findSecret(text, 'k7qm2x'), text).toBeGreaterThanOrEqual(0);
    }
  });

  it('does not count a short code found by chance inside a hash or token', () => {
    for (const text of ['"Zq9k7qm2xTt0"', 'hash=AAk7qm2x', 'k7qm2x_Yw', 'ab-k7qm2xc']) expect(findSecret(text, 'k7qm2x'), text).toBe(-1);
  });

  it('finds a later whole occurrence after a chance one', () => {
    const text = 'Qk7qm2xQ then "k7qm2x"';
    expect(findSecret(text, 'k7qm2x')).toBe(text.lastIndexOf('k7qm2x'));
  });

  it('finds a long secret anywhere, inside other text included', () => {
    expect(findSecret('prefixdevice-admin-token-0123456789suffix', 'device-admin-token-0123456789')).toBe(6);
  });
});
