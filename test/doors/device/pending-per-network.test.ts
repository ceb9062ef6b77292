import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PendingPerNetwork } from '../../../src/doors/device/pending-per-network.js';
import { coreMigrations } from '../../../src/store/migrations/core.js';
import type { EphemeralStore, Stores } from '../../../src/store/ports.js';
import { openSqliteStores } from '../../../src/store/sqlite/sqlite-stores.js';

/** A network's waiting places over the real SQLite ephemeral store. */
describe('PendingPerNetwork (real SQLite ephemeral store)', () => {
  let stores: Stores;
  beforeAll(async () => {
    stores = await openSqliteStores({ dataDir: ':memory:', migrations: coreMigrations });
  });
  afterAll(() => stores.close());

  it('says how many the network holds, and gives a place back when reading them fails', async () => {
    const now = Date.now();
    const places = new PendingPerNetwork(stores.ephemeral, 10, 100);
    expect((await places.take('203.0.113.1', 600_000, now)).held).toBe(1);
    expect((await places.take('203.0.113.1', 600_000, now)).held).toBe(2);
    // The place is taken (set-if-absent), then listing the network's places fails: a store gone.
    const failing: EphemeralStore = Object.assign(Object.create(stores.ephemeral) as EphemeralStore, {
      list: async () => { throw new Error('store gone'); },
    });
    await expect(new PendingPerNetwork(failing, 10, 100).take('203.0.113.2', 600_000, now)).rejects.toThrow('store gone');
    expect(await stores.ephemeral.list('device|pending|203.0.113.2|', now)).toEqual([]);
  });
});
