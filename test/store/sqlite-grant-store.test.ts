import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { hashCode } from '../helpers/code-hasher.js';
import { randomId } from '../../src/core/ids.js';
import { coreMigrations } from '../../src/store/migrations/core.js';
import { CodeTakenError, IdTakenError, OwnerCapError, type Stores } from '../../src/store/ports.js';
import { codeKey } from '../../src/store/sqlite/code-index.js';
import type { SqliteGrantStore } from '../../src/store/sqlite/sqlite-grant-store.js';
import { NEW_DATABASE_PAGE_SIZE, openSqliteStores } from '../../src/store/sqlite/sqlite-stores.js';

const KIND = 'test';
const folder = (): string => mkdtempSync(join(tmpdir(), 'pairgate-sqlite-store-'));
const open = (dataDir: string): Promise<Stores> => openSqliteStores({ dataDir, migrations: coreMigrations });
const create = (stores: Stores, code: string, now: number, ttlMs = 60_000) =>
  stores.grants.create({ id: randomId(), kind: KIND, request: { label: code }, ttlMs, codeHash: hashCode(KIND, code) }, now);

describe('sqlite grant store: indexes', () => {
  it('sweeps expired grants through the index of expiry times, the one index besides the primary key', async () => {
    const dataDir = folder();
    const stores = await open(dataDir);
    await stores.close();
    const file = new BetterSqlite3(join(dataDir, 'pairgate.db'), { readonly: true });
    try {
      const indexes = file.prepare(`select name from sqlite_master where type = 'index' and tbl_name = 'grants' and sql is not null`).pluck().all();
      expect(indexes).toEqual(['grants_expires_at']);
      const plan = file.prepare('explain query plan delete from grants where expires_at <= ?').all(Date.now()) as { detail: string }[];
      expect(plan.map((step) => step.detail).join(' ')).toMatch(/USING (COVERING )?INDEX grants_expires_at/);
    } finally {
      file.close();
    }
  });
});

describe('sqlite grant store: the insert of a new grant', () => {
  it('writes every column of the new grant\'s row, the constant ones as the insert\'s literals', async () => {
    const dataDir = folder();
    const stores = await open(dataDir);
    await stores.grants.create({ id: 'grant-1', kind: KIND, request: { label: 'row' }, ttlMs: 60_000, codeHash: 'code-hash', secretHash: 'secret-hash', owner: '192.0.2.7' }, 1_000);
    await stores.close();
    const file = new BetterSqlite3(join(dataDir, 'pairgate.db'), { readonly: true });
    try {
      expect(file.prepare('select * from grants').all()).toEqual([{
        id: 'grant-1', kind: KIND, state: 'pending', code_hash: 'code-hash', secret_hash: 'secret-hash', request: '{"label":"row"}',
        result: null, attempts: 0, version: 1, created_at: 1_000, updated_at: 1_000, expires_at: 61_000, owner: '192.0.2.7',
      }]);
    } finally {
      file.close();
    }
  });
});

describe('sqlite grant store: page size', () => {
  const pageSize = (dataDir: string): number => {
    const file = new BetterSqlite3(join(dataDir, 'pairgate.db'), { readonly: true });
    try {
      return file.pragma('page_size', { simple: true }) as number;
    } finally {
      file.close();
    }
  };

  it('makes a new database with 4 KiB pages (larger ones make RETURNING statements spill their journal)', async () => {
    const dataDir = folder();
    await (await open(dataDir)).close();
    expect(NEW_DATABASE_PAGE_SIZE).toBe(4_096);
    expect(pageSize(dataDir)).toBe(NEW_DATABASE_PAGE_SIZE);
  });

  it('keeps the page size of a database made with larger pages, and its grants', async () => {
    const dataDir = folder();
    // A database as a build that chose 16 KiB pages made it, WAL.
    const old = new BetterSqlite3(join(dataDir, 'pairgate.db'));
    old.pragma('page_size = 16384');
    old.pragma('journal_mode = WAL');
    old.close();
    const now = Date.now();
    const first = await open(dataDir);
    const made = await create(first, 'kept', now);
    await first.close();
    expect(pageSize(dataDir)).toBe(16384);

    const second = await open(dataDir);
    try {
      expect((await second.grants.findByCode(KIND, hashCode(KIND, 'kept'), now))?.id).toBe(made.id);
      await create(second, 'another', now);
      expect(await second.grants.findByCode(KIND, hashCode(KIND, 'another'), now)).toBeDefined();
    } finally {
      await second.close();
    }
    expect(pageSize(dataDir)).toBe(16384);
  });
});

describe('sqlite grant store: codes held in memory', () => {
  it('has no index of code hashes in the database, and rebuilds which grant holds each code after a restart', async () => {
    const dataDir = folder();
    const now = Date.now();
    let stores = await open(dataDir);
    const live = await create(stores, 'live-1', now);
    await create(stores, 'short-1', now, 1_000);
    await stores.close();

    const file = new BetterSqlite3(join(dataDir, 'pairgate.db'), { readonly: true });
    const indexes = file.prepare(`select name from sqlite_master where type = 'index' and tbl_name = 'grants'`).pluck().all();
    file.close();
    expect(indexes).not.toContain('grants_code_hash');
    // Live counts are kept in memory too: no index of (kind, expiry) to write on every new grant.
    expect(indexes).not.toContain('grants_kind');

    stores = await open(dataDir);
    try {
      expect((await stores.grants.findByCode(KIND, hashCode(KIND, 'live-1'), now))?.id).toBe(live.id);
      // Still taken after the restart...
      await expect(create(stores, 'live-1', now)).rejects.toBeInstanceOf(CodeTakenError);
      // ...while the code of a grant that expired meanwhile is free again.
      const later = now + 2_000;
      const reused = await create(stores, 'short-1', later);
      expect((await stores.grants.findByCode(KIND, hashCode(KIND, 'short-1'), later))?.id).toBe(reused.id);
    } finally {
      await stores.close();
    }
  });

  it('gives an expired grant\'s code to its new holder across a restart, even before the sweep', async () => {
    const dataDir = folder();
    const now = Date.now();
    let stores = await open(dataDir);
    await create(stores, 'shared', now, 1_000);
    const taker = await create(stores, 'shared', now + 2_000);
    await stores.close();
    stores = await open(dataDir);
    try {
      expect((await stores.grants.findByCode(KIND, hashCode(KIND, 'shared'), now + 2_000))?.id).toBe(taker.id);
    } finally {
      await stores.close();
    }
  });

  it('forgets the codes of swept, deleted and redeemed grants', async () => {
    const stores = await open(folder());
    const grants = stores.grants as SqliteGrantStore;
    const now = Date.now();
    try {
      const held = grants.liveCodes;
      await create(stores, 'to-sweep', now, 1_000);
      const deleted = await create(stores, 'to-delete', now);
      const redeemed = await create(stores, 'to-redeem', now);
      expect(grants.liveCodes).toBe(held + 3);
      await stores.grants.sweepExpired(now + 1_000);
      await stores.grants.delete(deleted.id);
      const approved = await stores.grants.update(redeemed.id, redeemed.version, { state: 'approved' }, now);
      await stores.grants.redeem(approved!.id, now);
      expect(grants.liveCodes).toBe(held);
      expect(await stores.grants.findByCode(KIND, hashCode(KIND, 'to-redeem'), now)).toBeUndefined();
    } finally {
      await stores.close();
    }
  });

  it('keys codes on 30 bits of their hash (small integers), and checks the whole hash on a look-up', async () => {
    expect(codeKey('AAAAB-rest')).toBe(1);
    expect(codeKey('_____')).toBe(2 ** 30 - 1);
    const stores = await open(folder());
    try {
      const now = Date.now();
      const grant = await create(stores, 'whole', now);
      const sameKey = `${grant.codeHash!.slice(0, 5)}${'A'.repeat(38)}`;
      expect(await stores.grants.findByCode(KIND, sameKey, now)).toBeUndefined();
      // A different hash with the same key counts as taken: the creator draws another code.
      await expect(stores.grants.create({ id: randomId(), kind: KIND, request: {}, ttlMs: 1_000, codeHash: sameKey }, now)).rejects.toBeInstanceOf(CodeTakenError);
    } finally {
      await stores.close();
    }
  });
});

describe('sqlite grant store: codes of creations not yet committed', () => {
  it('counts a code as taken while its insert waits for the group commit, and frees it when the insert fails', async () => {
    const stores = await open(folder());
    const now = Date.now();
    try {
      const first = await create(stores, 'first', now);
      const code = hashCode(KIND, 'wanted');
      // Both in the same turn: the second finds the first's code held by a grant with no row yet.
      const [queued, rival] = await Promise.allSettled([
        stores.grants.create({ id: randomId(), kind: KIND, request: {}, ttlMs: 60_000, codeHash: code }, now),
        stores.grants.create({ id: randomId(), kind: KIND, request: {}, ttlMs: 60_000, codeHash: code }, now),
      ]);
      expect(queued.status).toBe('fulfilled');
      expect(rival.status === 'rejected' && rival.reason).toBeInstanceOf(CodeTakenError);
      // An insert that fails (its id is taken) leaves its code free for the next creator.
      const other = hashCode(KIND, 'other');
      await expect(stores.grants.create({ id: first.id, kind: KIND, request: {}, ttlMs: 60_000, codeHash: other }, now)).rejects.toBeInstanceOf(IdTakenError);
      const retaken = await stores.grants.create({ id: randomId(), kind: KIND, request: {}, ttlMs: 60_000, codeHash: other }, now);
      expect((await stores.grants.findByCode(KIND, other, now))?.id).toBe(retaken.id);
    } finally {
      await stores.close();
    }
  });
});

describe('sqlite grant store: live grants per owner', () => {
  const owned = (stores: Stores, owner: string, now: number, ttlMs = 60_000, cap = 3) =>
    stores.grants.create({ id: randomId(), kind: KIND, request: {}, ttlMs, owner, ownerCap: cap }, now);
  const counted = (stores: Stores) => (stores.grants as SqliteGrantStore).countedOwners;

  it('refuses an owner past its cap exactly, for creations in the same turn too, and counts other owners apart', async () => {
    const stores = await open(folder());
    const now = Date.now();
    try {
      const burst = await Promise.allSettled(Array.from({ length: 20 }, () => owned(stores, '192.0.2.1', now)));
      expect(burst.filter((result) => result.status === 'fulfilled')).toHaveLength(3);
      const refused = burst.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
      expect(refused).toHaveLength(17);
      for (const { reason } of refused) {
        expect(reason).toBeInstanceOf(OwnerCapError);
        // The first place frees when the first grant expires, a minute from now.
        expect((reason as OwnerCapError).retryAfterMs).toBe(60_000);
      }
      await expect(owned(stores, '192.0.2.2', now)).resolves.toMatchObject({ kind: KIND });
      // Without a cap, the owner is recorded and counted, never refused.
      await expect(stores.grants.create({ id: randomId(), kind: KIND, request: {}, ttlMs: 60_000, owner: '192.0.2.1' }, now)).resolves.toMatchObject({ kind: KIND });
      await expect(owned(stores, '192.0.2.1', now, 60_000, 4)).rejects.toBeInstanceOf(OwnerCapError);
      // Another kind's grants of the same owner are counted on their own.
      await expect(stores.grants.create({ id: randomId(), kind: 'other', request: {}, ttlMs: 60_000, owner: '192.0.2.1', ownerCap: 1 }, now)).resolves.toMatchObject({ kind: 'other' });
    } finally {
      await stores.close();
    }
  });

  it('gives the place back when the creation fails, and when the grant is deleted or expires', async () => {
    const stores = await open(folder());
    const now = Date.now();
    try {
      const first = await owned(stores, '192.0.2.1', now, 60_000, 1);
      // Refused by the cap before anything else is tried.
      await expect(owned(stores, '192.0.2.1', now, 60_000, 1)).rejects.toBeInstanceOf(OwnerCapError);
      // A creation that fails for another reason (a taken id) does not keep the place it took.
      const other = await owned(stores, '192.0.2.9', now, 60_000, 2);
      await expect(stores.grants.create({ id: other.id, kind: KIND, request: {}, ttlMs: 60_000, owner: '192.0.2.9', ownerCap: 2 }, now)).rejects.toBeInstanceOf(IdTakenError);
      await expect(owned(stores, '192.0.2.9', now, 60_000, 2)).resolves.toMatchObject({ kind: KIND });
      // Deleted: its place is free.
      expect(await stores.grants.delete(first.id)).toBe(true);
      const second = await owned(stores, '192.0.2.1', now, 10_000, 1);
      // Expired: free as soon as its time has passed, before any sweep.
      await expect(owned(stores, '192.0.2.1', now + 9_999, 60_000, 1)).rejects.toMatchObject({ retryAfterMs: 1 });
      await expect(owned(stores, '192.0.2.1', second.expiresAt, 60_000, 1)).resolves.toMatchObject({ kind: KIND });
    } finally {
      await stores.close();
    }
  });

  it('moves a grant\'s place with its expiry, and forgets owners with nothing live at the sweep', async () => {
    const stores = await open(folder());
    const now = Date.now();
    try {
      const grant = await owned(stores, '192.0.2.1', now, 10_000, 1);
      const renewed = await stores.grants.update(grant.id, grant.version, { expiresAt: now + 100_000 }, now);
      expect(renewed?.expiresAt).toBe(now + 100_000);
      await expect(owned(stores, '192.0.2.1', now + 50_000, 60_000, 1)).rejects.toMatchObject({ retryAfterMs: 50_000 });
      await owned(stores, '192.0.2.2', now, 10_000);
      expect(counted(stores)).toBe(2);
      await stores.grants.sweepExpired(now + 20_000);
      expect(counted(stores)).toBe(1);
      // An owner forgotten and back: counted from nothing, its old grants do not count against it.
      await expect(owned(stores, '192.0.2.2', now + 20_000, 60_000, 1)).resolves.toMatchObject({ kind: KIND });
      await expect(owned(stores, '192.0.2.2', now + 20_000, 60_000, 1)).rejects.toBeInstanceOf(OwnerCapError);
    } finally {
      await stores.close();
    }
  });

  it('rebuilds every owner\'s count from the table after a restart', async () => {
    const dataDir = folder();
    const now = Date.now();
    let stores = await open(dataDir);
    await Promise.all([owned(stores, '192.0.2.1', now), owned(stores, '192.0.2.1', now, 120_000), owned(stores, '192.0.2.2', now, 1_000)]);
    await stores.close();
    stores = await open(dataDir);
    try {
      // Two held of three: one more, then refused until the first expires.
      await owned(stores, '192.0.2.1', now);
      await expect(owned(stores, '192.0.2.1', now)).rejects.toMatchObject({ retryAfterMs: 60_000 });
      // The other owner's only grant has expired by now + 1 s.
      for (let i = 0; i < 3; i++) await owned(stores, '192.0.2.2', now + 1_000);
      await expect(owned(stores, '192.0.2.2', now + 1_000)).rejects.toBeInstanceOf(OwnerCapError);
    } finally {
      await stores.close();
    }
  });
});

describe('sqlite grant store: read cache', () => {
  it('answers every read after a write with the write, whatever the cache held', async () => {
    const stores = await open(folder());
    const now = Date.now();
    try {
      const grant = await create(stores, 'cached', now);
      const read = () => stores.grants.findById<{ label: string }, { by: string }>(grant.id, now);
      expect((await read())?.version).toBe(1);
      await stores.grants.update(grant.id, 1, { request: { label: 'changed' } }, now);
      expect((await read())?.request).toEqual({ label: 'changed' });
      expect(await stores.grants.recordFailedAttempt(grant.id, now)).toBe(1);
      expect((await read())?.attempts).toBe(1);
      await stores.grants.update(grant.id, 2, { state: 'approved', result: { by: 'me' } }, now);
      expect(await read()).toMatchObject({ state: 'approved', result: { by: 'me' }, version: 3 });
      await stores.grants.redeem(grant.id, now);
      expect((await read())?.state).toBe('redeemed');
      await stores.grants.delete(grant.id);
      expect(await read()).toBeUndefined();
    } finally {
      await stores.close();
    }
  });

  it('caches a grant when it is first read, not when it is created, so that a burst of creations evicts nothing', async () => {
    const stores = await open(folder());
    const now = Date.now();
    try {
      const grants = stores.grants as SqliteGrantStore;
      const read = await create(stores, 'read', now);
      expect(await grants.findById(read.id, now)).toMatchObject({ id: read.id });
      expect(grants.cachedGrants).toBe(1);
      for (let i = 0; i < 20; i++) await create(stores, `burst-${i}`, now);
      expect(grants.cachedGrants).toBe(1);
      expect(await grants.findByCode(KIND, read.codeHash!, now)).toMatchObject({ id: read.id });
      expect(grants.cachedGrants).toBe(1);
    } finally {
      await stores.close();
    }
  });

  it('never answers an expired grant from the cache', async () => {
    const stores = await open(folder());
    const now = Date.now();
    try {
      const grant = await create(stores, 'expiring', now, 1_000);
      expect(await stores.grants.findById(grant.id, now)).toBeDefined();
      expect(await stores.grants.findById(grant.id, now + 1_000)).toBeUndefined();
      expect(await stores.grants.findByCode(KIND, grant.codeHash!, now + 1_000)).toBeUndefined();
    } finally {
      await stores.close();
    }
  });

  it('hands out frozen grants, so that no caller can change what the next one reads', async () => {
    const stores = await open(folder());
    try {
      const grant = await create(stores, 'frozen', Date.now());
      const read = await stores.grants.findById<{ label: string }, never>(grant.id, Date.now());
      expect(() => {
        (read as { state: string }).state = 'approved';
      }).toThrow(TypeError);
      expect(() => {
        read!.request.label = 'changed';
      }).toThrow(TypeError);
      expect((await stores.grants.findById<{ label: string }, never>(grant.id, Date.now()))?.request.label).toBe('frozen');
    } finally {
      await stores.close();
    }
  });

  it('caches absent ephemeral keys until they are written', async () => {
    const stores = await open(folder());
    const now = Date.now();
    try {
      expect(await stores.ephemeral.get('k', now)).toBeUndefined();
      await stores.ephemeral.increment('k', 60_000, now);
      expect(await stores.ephemeral.get('k', now)).toBe('1');
      await stores.ephemeral.increment('k', 60_000, now);
      expect(await stores.ephemeral.get('k', now)).toBe('2');
      expect(await stores.ephemeral.get('k', now + 60_000)).toBeUndefined();
      await stores.ephemeral.set('k', 'v', 1_000, now);
      expect(await stores.ephemeral.get('k', now)).toBe('v');
      expect(await stores.ephemeral.take('k', now)).toBe('v');
      expect(await stores.ephemeral.get('k', now)).toBeUndefined();
      expect(await stores.ephemeral.setIfAbsent('k', 'w', 1_000, now)).toBe(true);
      expect(await stores.ephemeral.get('k', now)).toBe('w');
      await stores.ephemeral.delete('k');
      expect(await stores.ephemeral.get('k', now)).toBeUndefined();
    } finally {
      await stores.close();
    }
  });
});

/**
 * A door's Kysely transaction holds the one SQLite connection across awaits. The grant store's own
 * writes (synchronous statements, group-committed inserts) must not run inside it meanwhile: a
 * transaction that rolls back (a refused deletion, say) would take them with it, though their
 * callers were told they were done.
 */
describe('sqlite grant store: writes while a door transaction is open', () => {
  it('a grant created and a grant approved during a transaction that rolls back are still there', async () => {
    const stores = await open(folder());
    try {
      const now = Date.now();
      const existing = await create(stores, 'before-1', now);
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      let begun: () => void = () => {};
      const inside = new Promise<void>((resolve) => {
        begun = resolve;
      });
      const transaction = stores.db.transaction().execute(async (trx) => {
        await trx.selectFrom('grants').select('id').limit(1).execute();
        begun();
        await held;
        throw new Error('refused: roll back');
      });
      await inside;
      // Meanwhile, other requests write grants.
      const created = create(stores, 'during-1', now);
      const approved = stores.grants.update(existing.id, existing.version, { state: 'approved' }, now);
      await new Promise((resolve) => setTimeout(resolve, 30));
      release();
      await expect(transaction).rejects.toThrow('refused: roll back');
      const made = await created;
      expect((await approved)?.state).toBe('approved');
      // What the database holds (not the store's read cache).
      const rows = await stores.db.selectFrom('grants').select(['id', 'state']).where('id', 'in', [made.id, existing.id]).execute();
      expect(Object.fromEntries(rows.map((row) => [row.id, row.state]))).toEqual({ [made.id]: 'pending', [existing.id]: 'approved' });
    } finally {
      await stores.close();
    }
  });
});
