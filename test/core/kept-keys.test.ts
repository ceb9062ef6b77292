import { describe, expect, it } from 'vitest';
import { KeptKeys } from '../../src/core/kept-keys.js';

describe('KeptKeys', () => {
  it('gives back the value it made for the same scope and name, and makes one per pair', () => {
    let made = 0;
    const keys = new KeptKeys((scope, name) => ({ key: `${scope}:${name}`, n: ++made }));
    const first = keys.get('pair', '203.0.113.9');
    expect(first).toEqual({ key: 'pair:203.0.113.9', n: 1 });
    expect(keys.get('pair', '203.0.113.9')).toBe(first);
    // The same name in another scope, and another name in the same scope, are values of their own.
    expect(keys.get('device', '203.0.113.9')).toEqual({ key: 'device:203.0.113.9', n: 2 });
    expect(keys.get('pair', '203.0.113.10')).toEqual({ key: 'pair:203.0.113.10', n: 3 });
    expect(made).toBe(3);
  });

  it('keeps at most the bound per scope: past it, values are made again, equal to the first', () => {
    const keys = new KeptKeys((scope, name) => ({ key: `${scope}:${name}` }), 100);
    const first = keys.get('pair', 'a');
    const other = keys.get('device', 'a');
    for (let i = 0; i < 150; i++) keys.get('pair', `name-${i}`);
    const again = keys.get('pair', 'a');
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
    // Another scope's values are not dropped with them.
    expect(keys.get('device', 'a')).toBe(other);
  });
});
