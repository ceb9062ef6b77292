import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { coreMigrations } from '../../src/store/migrations/core.js';
import type { Stores } from '../../src/store/ports.js';
import { openSqliteStores } from '../../src/store/sqlite/sqlite-stores.js';

describe('sqlite ephemeral store', () => {
  let stores: Stores;
  beforeEach(async () => {
    stores = await openSqliteStores({ dataDir: ':memory:', migrations: coreMigrations });
  });
  afterEach(async () => {
    await stores.close();
  });

  it('a write made while a door\'s transaction is open is not undone by that transaction\'s rollback', async () => {
    const now = 1_000_000;
    let began!: () => void;
    const begun = new Promise<void>((resolve) => (began = resolve));
    const transaction = stores.db.transaction().execute(async (trx) => {
      await trx.insertInto('ephemeral').values({ key: 'door|row', value: 'x', expires_at: now + 60_000 }).execute();
      began();
      await sleep(20);
      throw new Error('rolled back');
    });
    await begun;
    // Each kind of write, issued while the transaction holds the connection.
    const writes = Promise.all([
      stores.ephemeral.setIfAbsent('t|slot', 'a', 60_000, now),
      stores.ephemeral.increment('t|count', 60_000, now),
      stores.ephemeral.set('t|set', 'v', 60_000, now),
    ]);
    await expect(transaction).rejects.toThrow('rolled back');
    expect(await writes).toEqual([true, { count: 1, resetAt: now + 60_000 }, undefined]);
    expect(await stores.ephemeral.get('door|row', now)).toBeUndefined();
    expect((await stores.ephemeral.list('t|', now)).map((entry) => [entry.key, entry.value])).toEqual([['t|count', '1'], ['t|set', 'v'], ['t|slot', 'a']]);
    expect(await stores.ephemeral.take('t|slot', now)).toBe('a');
    await stores.ephemeral.delete('t|set');
    expect((await stores.ephemeral.list('t|', now)).map((entry) => entry.key)).toEqual(['t|count']);
  });

  it('answers a read after each write with what the write left (the read cache forgets written keys)', async () => {
    const now = 2_000_000;
    expect(await stores.ephemeral.get('k', now)).toBeUndefined();
    expect(await stores.ephemeral.setIfAbsent('k', 'a', 1_000, now)).toBe(true);
    expect(await stores.ephemeral.get('k', now)).toBe('a');
    expect(await stores.ephemeral.setIfAbsent('k', 'b', 1_000, now)).toBe(false);
    expect(await stores.ephemeral.get('k', now)).toBe('a');
    // An expired holder is taken over.
    expect(await stores.ephemeral.setIfAbsent('k', 'c', 1_000, now + 1_000)).toBe(true);
    expect(await stores.ephemeral.get('k', now + 1_000)).toBe('c');
    await stores.ephemeral.set('k', 'd', 1_000, now + 1_000);
    expect(await stores.ephemeral.get('k', now + 1_000)).toBe('d');
    expect(await stores.ephemeral.increment('n', 1_000, now)).toEqual({ count: 1, resetAt: now + 1_000 });
    expect(await stores.ephemeral.get('n', now)).toBe('1');
    expect(await stores.ephemeral.increment('n', 1_000, now + 10)).toEqual({ count: 2, resetAt: now + 1_000 });
    expect(await stores.ephemeral.get('n', now)).toBe('2');
    // A counter past its end starts again.
    expect(await stores.ephemeral.increment('n', 1_000, now + 1_000)).toEqual({ count: 1, resetAt: now + 2_000 });
    expect(await stores.ephemeral.take('k', now + 1_000)).toBe('d');
    expect(await stores.ephemeral.get('k', now + 1_000)).toBeUndefined();
    await stores.ephemeral.set('gone', 'x', 1_000, now);
    await stores.ephemeral.delete('gone');
    expect(await stores.ephemeral.get('gone', now)).toBeUndefined();
  });

  it('writes of one turn share a commit, yet one that fails fails alone', async () => {
    const now = 3_000_000;
    const results = await Promise.allSettled([
      stores.ephemeral.set('batch|a', 'x', 1_000, now),
      // NOT NULL: this write fails.
      stores.ephemeral.set('batch|b', null as unknown as string, 1_000, now),
      stores.ephemeral.increment('batch|c', 1_000, now),
      stores.ephemeral.setIfAbsent('batch|a', 'y', 1_000, now),
    ]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((results[3] as PromiseFulfilledResult<boolean>).value).toBe(false);
    expect((await stores.ephemeral.list('batch|', now)).map((entry) => [entry.key, entry.value])).toEqual([['batch|a', 'x'], ['batch|c', '1']]);
  });
});
