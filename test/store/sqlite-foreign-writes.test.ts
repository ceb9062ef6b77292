import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { hashCode } from '../helpers/code-hasher.js';
import { randomId } from '../../src/core/ids.js';
import { coreMigrations } from '../../src/store/migrations/core.js';
import type { Stores } from '../../src/store/ports.js';
import { openSqliteStores } from '../../src/store/sqlite/sqlite-stores.js';

const KIND = 'test';

/** Waits until `check` holds, up to `ms`. */
async function eventually(check: () => boolean, ms = 5_000): Promise<void> {
  for (const end = Date.now() + ms; !check() && Date.now() < end; ) await new Promise((resolve) => setTimeout(resolve, 20));
}

/**
 * Another program writing to pairgate.db while the server runs (not allowed, but nothing stops the
 * sqlite3 shell) would leave the stores' memory wrong: the code index, the live counts, the read
 * caches. The stores notice it and read their memory again from the tables.
 */
describe('sqlite stores: writes by another program', () => {
  let stores: Stores | undefined;
  afterEach(async () => {
    await stores?.close();
    stores = undefined;
  });

  it('are noticed within seconds, and the stores answer what the tables hold', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-foreign-'));
    stores = await openSqliteStores({ dataDir, migrations: coreMigrations });
    const now = Date.now();
    const gone = await stores.grants.create({ id: randomId(), kind: KIND, request: {}, ttlMs: 600_000, codeHash: hashCode(KIND, 'gone') }, now);
    const kept = await stores.grants.create({ id: randomId(), kind: KIND, request: {}, ttlMs: 600_000, codeHash: hashCode(KIND, 'kept') }, now);
    // Read once, so that the cache holds them.
    expect(await stores.grants.findByCode(KIND, hashCode(KIND, 'gone'), now)).toMatchObject({ id: gone.id });
    expect(await stores.grants.findById(kept.id, now)).toMatchObject({ state: 'pending' });
    await stores.ephemeral.set('note', 'before', 600_000, now);
    expect(await stores.ephemeral.get('note', now)).toBe('before');

    const other = new BetterSqlite3(join(dataDir, 'pairgate.db'));
    try {
      other.prepare('delete from grants where id = ?').run(gone.id);
      other.prepare("update grants set state = 'approved', version = version + 1 where id = ?").run(kept.id);
      other.prepare(`insert into grants (id, kind, state, code_hash, secret_hash, request, result, attempts, version, created_at, updated_at, expires_at, owner)
        values ('added', ?, 'pending', ?, null, '{}', null, 0, 1, ?, ?, ?, null)`).run(KIND, hashCode(KIND, 'added'), now, now, now + 600_000);
      other.prepare("update ephemeral set value = 'after' where key = 'note'").run();
    } finally {
      other.close();
    }
    await eventually(() => stores!.foreignWrites!() > 0);
    expect(stores.foreignWrites!()).toBe(1);
    expect(await stores.grants.findByCode(KIND, hashCode(KIND, 'gone'), now)).toBeUndefined();
    expect(await stores.grants.findByCode(KIND, hashCode(KIND, 'added'), now)).toMatchObject({ id: 'added' });
    expect(await stores.grants.findById(kept.id, now)).toMatchObject({ state: 'approved', version: 2 });
    expect(await stores.grants.countLive(KIND, now)).toBe(2);
    expect(await stores.ephemeral.get('note', now)).toBe('after');
  });

  it('are not confused with the server\'s own writes and the checkpoint thread\'s copying', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-foreign-'));
    stores = await openSqliteStores({ dataDir, migrations: coreMigrations });
    const now = Date.now();
    const request = { label: 'x'.repeat(2_000) };
    // About 20 MiB of WAL in batches: the checkpoint thread copies it back meanwhile.
    for (let i = 0; i < 100; i++) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => stores!.grants.create({ id: randomId(), kind: KIND, request, ttlMs: 600_000, codeHash: hashCode(KIND, `${i}-${j}`) }, now)));
      await stores.ephemeral.increment('counter', 600_000, now);
    }
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(stores.foreignWrites!()).toBe(0);
  }, 60_000);
});
