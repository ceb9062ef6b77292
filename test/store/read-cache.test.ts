import { describe, expect, it } from 'vitest';
import { deepFreeze, freezeGrant, ReadCache } from '../../src/store/sqlite/read-cache.js';

describe('ReadCache', () => {
  it('keeps at most its capacity, forgetting the oldest fill first', () => {
    const cache = new ReadCache<string, number>(3);
    for (const [i, key] of ['a', 'b', 'c', 'd'].entries()) cache.fill(key, i);
    expect(cache.size).toBe(3);
    expect(cache.get('a')).toBeUndefined();
    expect([cache.get('b'), cache.get('c'), cache.get('d')]).toEqual([1, 2, 3]);
  });

  it('holds at least one entry: a capacity of 0 or a fraction is refused', () => {
    expect(() => new ReadCache<string, number>(0)).toThrow(RangeError);
    expect(() => new ReadCache<string, number>(1.5)).toThrow(RangeError);
    const one = new ReadCache<string, number>(1);
    one.fill('a', 1);
    one.fill('b', 2);
    expect([one.get('a'), one.get('b'), one.size]).toEqual([undefined, 2, 1]);
  });

  it('refilling a held key replaces its value without evicting another', () => {
    const cache = new ReadCache<string, number>(2);
    cache.fill('a', 1);
    cache.fill('b', 2);
    cache.fill('a', 10);
    expect(cache.size).toBe(2);
    expect(cache.get('a')).toBe(10);
    expect(cache.get('b')).toBe(2);
  });

  it('an invalidated key is gone and frees its place', () => {
    const cache = new ReadCache<string, number>(2);
    cache.fill('a', 1);
    cache.fill('b', 2);
    cache.invalidate('a');
    expect(cache.get('a')).toBeUndefined();
    cache.fill('c', 3);
    expect(cache.size).toBe(2);
    expect(cache.get('b')).toBe(2);
    expect(cache.get('c')).toBe(3);
  });

  it('a key invalidated and filled again holds the new value until evicted, never the replaced one', () => {
    const cache = new ReadCache<string, number>(3);
    cache.fill('a', 1);
    cache.invalidate('a');
    cache.fill('a', 2);
    expect(cache.get('a')).toBe(2);
    cache.fill('b', 3);
    cache.fill('c', 4);
    // The ring's turn reaches a's first place: a may be forgotten early, and nothing stale is kept.
    expect(cache.get('a') === 2 || cache.get('a') === undefined).toBe(true);
    expect(cache.size).toBeLessThanOrEqual(3);
    expect([cache.get('b'), cache.get('c')]).toEqual([3, 4]);
  });

  it('stays bounded and correct through many fills and invalidations (the pattern of a busy server)', () => {
    const capacity = 100;
    const cache = new ReadCache<number, number>(capacity);
    for (let i = 0; i < 50_000; i++) {
      cache.fill(i, i * 2);
      if (i % 3 === 0) cache.invalidate(i - 1);
      expect(cache.size).toBeLessThanOrEqual(capacity);
    }
    // The newest fill is always there; one pushed out long ago never is.
    expect(cache.get(49_999)).toBe(99_998);
    expect(cache.get(10)).toBeUndefined();
    cache.clear();
    expect(cache.size).toBe(0);
  });
});

describe('deepFreeze', () => {
  it('freezes nested objects and arrays so a cached value cannot be changed by a caller', () => {
    const value = deepFreeze({ request: { label: 'x', tags: ['a'] } });
    expect(Object.isFrozen(value.request)).toBe(true);
    expect(Object.isFrozen(value.request.tags)).toBe(true);
    expect(() => {
      (value.request as { label: string }).label = 'changed';
    }).toThrow(TypeError);
  });
});

describe('freezeGrant', () => {
  it('freezes the grant and, deeply, its request and result', () => {
    const grant = freezeGrant({ id: 'g', request: { label: 'x', data: { a: '1' }, tags: ['t'] }, result: { scopes: [{ name: 's' }] } });
    expect(Object.isFrozen(grant)).toBe(true);
    for (const inner of [grant.request, grant.request.data, grant.request.tags, grant.result, grant.result.scopes, grant.result.scopes[0]]) {
      expect(Object.isFrozen(inner)).toBe(true);
    }
    expect(() => {
      (grant.result.scopes[0] as { name: string }).name = 'changed';
    }).toThrow(TypeError);
  });

  it('takes a null result and primitive requests', () => {
    expect(Object.isFrozen(freezeGrant({ request: 'text', result: null }))).toBe(true);
  });
});
