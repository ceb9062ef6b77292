import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NumberedSlots } from '../../../src/doors/shared/numbered-slots.js';
import { coreMigrations } from '../../../src/store/migrations/core.js';
import type { EphemeralStore, Stores } from '../../../src/store/ports.js';
import { openSqliteStores } from '../../../src/store/sqlite/sqlite-stores.js';

/**
 * The probes NumberedSlots makes before listing (the relay's total of live codes takes its slots
 * this way): consecutive slot numbers from a cursor, so the store's key index is written in one
 * place; whoever gets a slot is still decided by set-if-absent alone.
 */
describe('numbered slots: probes before listing', () => {
  let stores: Stores;
  let lists = 0;
  let store: EphemeralStore;
  beforeEach(async () => {
    stores = await openSqliteStores({ dataDir: ':memory:', migrations: coreMigrations });
    lists = 0;
    const ephemeral = stores.ephemeral;
    store = {
      shared: ephemeral.shared,
      increment: (...args) => ephemeral.increment(...args),
      decrement: (...args) => ephemeral.decrement(...args),
      set: (...args) => ephemeral.set(...args),
      setIfAbsent: (...args) => ephemeral.setIfAbsent(...args),
      get: (...args) => ephemeral.get(...args),
      take: (...args) => ephemeral.take(...args),
      delete: (...args) => ephemeral.delete(...args),
      renewIfHeld: (...args) => ephemeral.renewIfHeld(...args),
      deleteIfHeld: (...args) => ephemeral.deleteIfHeld(...args),
      list: (...args) => {
        lists++;
        return ephemeral.list(...args);
      },
    };
  });
  afterEach(async () => {
    await stores.close();
  });

  const slotOf = (key: string): number => Number(key.slice(key.lastIndexOf('|') + 1));

  it('takes consecutive slots (wrapping at the cap) without listing while they are free', async () => {
    const slots = new NumberedSlots(store, 'test|seq|', 1000);
    const now = 1_000_000;
    const keys: string[] = [];
    for (let i = 0; i < 20; i++) {
      const taken = await slots.take('all', '1', 60_000, now, { randomProbes: 4 });
      if (!taken.ok) throw new Error('refused');
      keys.push(taken.key);
    }
    const numbers = keys.map(slotOf);
    for (let i = 1; i < numbers.length; i++) expect(numbers[i]).toBe((numbers[i - 1]! + 1) % 1000);
    expect(lists).toBe(0);
  });

  it('when every holder lives as long, the next probe finds the slot freed first', async () => {
    const cap = 10;
    const slots = new NumberedSlots(store, 'test|rotate|', cap);
    // Fill the cap one a millisecond, each for 100 ms; then take again as they expire, in turn.
    for (let t = 0; t < cap; t++) expect((await slots.take('all', '1', 100, t, { randomProbes: 1 })).ok).toBe(true);
    const listsWhenFull = lists;
    // Three more rounds, each take when the slot taken 100 ms earlier frees.
    for (let k = 0; k < 3 * cap; k++) {
      const t = 100 * (1 + Math.floor(k / cap)) + (k % cap);
      expect((await slots.take('all', '1', 100, t, { randomProbes: 1 })).ok).toBe(true);
    }
    // A random probe finds a free slot about once in ten here; the cursor finds one every time.
    expect(lists - listsWhenFull).toBeLessThanOrEqual(1);
    expect(await slots.held('all', 300 + cap - 1)).toHaveLength(cap);
  });

  it('nodes whose cursors meet still get exactly the cap between them, each slot once', async () => {
    const cap = 50;
    const nodes = [new NumberedSlots(store, 'test|meet|', cap), new NumberedSlots(store, 'test|meet|', cap)];
    const now = 1_000_000;
    // Both nodes start at the same slot.
    expect((await nodes[0]!.take('all', 'a', 60_000, now, { randomProbes: 4 })).ok).toBe(true);
    const first = await nodes[0]!.held('all', now);
    await stores.ephemeral.delete(first[0]!.key);
    expect((await nodes[1]!.take('all', 'b', 60_000, now, { randomProbes: 4 })).ok).toBe(true);
    await stores.ephemeral.delete((await nodes[1]!.held('all', now))[0]!.key);
    const taken = await Promise.all(Array.from({ length: 120 }, (_, i) => nodes[i % 2]!.take('all', String(i), 60_000, now, { randomProbes: 4 })));
    const keys = taken.flatMap((result) => (result.ok ? [result.key] : []));
    expect(keys).toHaveLength(cap);
    expect(new Set(keys).size).toBe(cap);
    expect(await nodes[0]!.held('all', now)).toHaveLength(cap);
  });
});
