import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Announcements } from '../../../src/doors/registry/announcements.js';
import { coreMigrations } from '../../../src/store/migrations/core.js';
import type { EphemeralStore, Stores } from '../../../src/store/ports.js';
import { openSqliteStores } from '../../../src/store/sqlite/sqlite-stores.js';

const NETWORK = '198.51.100.9';
const BOX = 'box-fingerprint';
const slotKey = (n: number) => `registry-slot|${NETWORK}|${n}`;

/**
 * Runs `meanwhile` once, just before the first write that renews place `key` lands (`renewIfHeld`,
 * or a plain `set` as renewals were written before): what other announcements do between a
 * renewal's read and its write. Returns the undo.
 */
function beforeRenewalOf(ephemeral: EphemeralStore, key: string, meanwhile: (now: number) => Promise<void>): () => void {
  const { set, renewIfHeld } = ephemeral;
  let done = false;
  const once = async (k: string, now: number): Promise<void> => {
    if (k !== key || done) return;
    done = true;
    await meanwhile(now);
  };
  ephemeral.renewIfHeld = async (k, value, ttlMs, now) => {
    await once(k, now);
    return renewIfHeld.call(ephemeral, k, value, ttlMs, now);
  };
  ephemeral.set = async (k, value, ttlMs, now) => {
    await once(k, now);
    return set.call(ephemeral, k, value, ttlMs, now);
  };
  return () => {
    ephemeral.set = set;
    ephemeral.renewIfHeld = renewIfHeld;
  };
}

describe('a box\'s place on its network, announcements of it racing (real SQLite ephemeral store)', () => {
  let stores: Stores;
  beforeAll(async () => {
    stores = await openSqliteStores({ dataDir: mkdtempSync(join(tmpdir(), 'pairgate-places-')), migrations: coreMigrations });
  });
  afterAll(() => stores.close());

  it('a renewal whose place another announcement of the box gave back meanwhile does not write it again: the box keeps one place', async () => {
    const now = Date.now();
    const ephemeral = stores.ephemeral;
    // The box holds place 2 (its first announcement).
    await ephemeral.set(slotKey(2), BOX, 60_000, now);
    // Between the renewal's read (place 2 is the box's) and its write, another announcement of the
    // box, which had taken place 0 meanwhile, sees places 0 and 2 and gives 2 back.
    const undo = beforeRenewalOf(ephemeral, slotKey(2), async (at) => {
      await ephemeral.setIfAbsent(slotKey(0), BOX, 60_000, at);
      await ephemeral.delete(slotKey(2));
    });
    try {
      expect(await new Announcements(ephemeral, 60_000).claim(NETWORK, BOX, { perNetwork: 4, perIpv6Block: 256 }, now)).toEqual({ ok: true });
    } finally {
      undo();
    }
    // Before, the renewal wrote place 2 again and kept it: the box held two of the network's four.
    const places = await ephemeral.list(`registry-slot|${NETWORK}|`, now);
    expect(places.map((entry) => [entry.key, entry.value])).toEqual([[slotKey(0), BOX]]);
  });

  it('a renewal whose place lapsed and was taken by another box meanwhile leaves it that box\'s and takes a free one', async () => {
    const now = Date.now();
    const ephemeral = stores.ephemeral;
    const network = '198.51.100.10';
    const key = (n: number) => `registry-slot|${network}|${n}`;
    await ephemeral.set(key(0), BOX, 60_000, now);
    // Between the renewal's read and its write, the box's place lapses (a stalled node) and another
    // box takes it.
    const undo = beforeRenewalOf(ephemeral, key(0), async (at) => {
      await ephemeral.delete(key(0));
      expect(await ephemeral.setIfAbsent(key(0), 'other-box', 60_000, at)).toBe(true);
    });
    try {
      expect(await new Announcements(ephemeral, 60_000).claim(network, BOX, { perNetwork: 2, perIpv6Block: 256 }, now)).toEqual({ ok: true });
    } finally {
      undo();
    }
    // Before, the renewal wrote place 0 back as the box's: the other box lost its place, and both
    // counted as one, so one more box than the cap could be listed.
    const places = await ephemeral.list(`registry-slot|${network}|`, now);
    expect(places.map((entry) => [entry.key, entry.value]).sort()).toEqual([[key(0), 'other-box'], [key(1), BOX]]);
  });
});
