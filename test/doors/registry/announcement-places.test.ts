import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Announcements } from '../../../src/doors/registry/announcements.js';
import { coreMigrations } from '../../../src/store/migrations/core.js';
import type { Stores } from '../../../src/store/ports.js';
import { openSqliteStores } from '../../../src/store/sqlite/sqlite-stores.js';

const NETWORK = '198.51.100.9';
const BOX = 'box-fingerprint';
const slotKey = (n: number) => `registry-slot|${NETWORK}|${n}`;

describe('a box\'s place on its network, announcements of it racing (real SQLite ephemeral store)', () => {
  let stores: Stores;
  beforeAll(async () => {
    stores = await openSqliteStores({ dataDir: mkdtempSync(join(tmpdir(), 'pairgate-places-')), migrations: coreMigrations });
  });
  afterAll(() => stores.close());

  it('a renewal that writes again a place another announcement of the box gave back meanwhile gives it back itself: the box keeps one place', async () => {
    const now = Date.now();
    const ephemeral = stores.ephemeral;
    // The box holds place 2 (its first announcement).
    await ephemeral.set(slotKey(2), BOX, 60_000, now);
    const set = ephemeral.set.bind(ephemeral);
    // Between the renewal's read (place 2 is the box's) and its write, another announcement of the
    // box, which had taken place 0 meanwhile, sees places 0 and 2 and gives 2 back.
    ephemeral.set = async (key, value, ttlMs, at) => {
      if (key === slotKey(2)) {
        ephemeral.set = set;
        await ephemeral.setIfAbsent(slotKey(0), BOX, 60_000, at);
        await ephemeral.delete(slotKey(2));
      }
      return set(key, value, ttlMs, at);
    };
    try {
      expect(await new Announcements(ephemeral, 60_000).claim(NETWORK, BOX, 4, now)).toEqual({ ok: true });
    } finally {
      ephemeral.set = set;
    }
    // Before, the renewal wrote place 2 again and kept it: the box held two of the network's four.
    const places = await ephemeral.list(`registry-slot|${NETWORK}|`, now);
    expect(places.map((entry) => [entry.key, entry.value])).toEqual([[slotKey(0), BOX]]);
  });
});
