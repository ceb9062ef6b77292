import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hashToken, timeOrderedId } from '../../src/core/ids.js';
import { accountsMigrations } from '../../src/doors/accounts/migrations.js';
import { UserStore } from '../../src/doors/accounts/users.js';
import { coreMigrations } from '../../src/store/migrations/core.js';
import type { Stores } from '../../src/store/ports.js';
import { openSqliteStores } from '../../src/store/sqlite/sqlite-stores.js';

/**
 * A deleted row must not stay readable in pairgate.db's bytes: SQLite leaves a deleted row where it
 * was (in its page, or in the pages a delete frees) unless `secure_delete` is ON, which the store
 * sets (sqlite-stores.ts). Each test deletes rows holding a unique marker through the store's own
 * path, writes a sentinel after them, waits until the background checkpoint has copied the sentinel
 * into the file (so the delete is copied too), then looks for the markers in the file.
 *
 * The WAL (pairgate.db-wal) is not checked, since it keeps them for a while whatever the pragma: its
 * frames hold pages as they were written (the inserts, in clear), and SQLite writes over them only
 * when it writes the WAL again from its start (the first commit after a checkpoint that copied all
 * of it), frame by frame, so a frame far into the WAL stays until the load reaches it again or the
 * server stops (the last connection deletes the WAL). `journal_size_limit` would cut the file at that
 * first commit; it cost about 30% more SQLite time per inserted grant (6 December 2026) and is not set.
 */

const opened: { stores: Stores; dataDir: string }[] = [];

async function openStores(): Promise<{ stores: Stores; file: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-secure-delete-'));
  const stores = await openSqliteStores({ dataDir, migrations: { ...coreMigrations, ...accountsMigrations } });
  opened.push({ stores, dataDir });
  return { stores, file: join(dataDir, 'pairgate.db') };
}

/** The distinct matches of `pattern` in the bytes of `file`. */
function found(file: string, pattern: RegExp): number {
  return new Set(readFileSync(file).toString('latin1').match(pattern) ?? []).size;
}

/** Waits until the background checkpoint (every 100 ms) has copied `sentinel` into `file`. */
async function checkpointed(file: string, sentinel: string): Promise<void> {
  await expect.poll(() => readFileSync(file).includes(sentinel), { timeout: 10_000, interval: 50 }).toBe(true);
}

/** Creates grants in group commits of 40, each with `label` (numbered) in its request. */
async function createGrants(stores: Stores, label: string, count: number, ttlMs: number, now: number): Promise<void> {
  for (let i = 0; i < count; i += 40) {
    const batch = [];
    for (let j = i; j < Math.min(i + 40, count); j++) {
      const grant = { id: timeOrderedId(now), kind: 'generic', request: { label: `${label}n${j}x`, data: { app: 'an app' } }, ttlMs, secretHash: hashToken(randomBytes(16).toString('hex')), owner: '192.0.2.0' };
      batch.push(stores.grants.create(grant, now));
    }
    await Promise.all(batch);
  }
}

afterEach(async () => {
  for (const { stores, dataDir } of opened.splice(0)) {
    await stores.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

describe('SQLite store: deleted rows leave the database file', () => {
  it("a deleted account's e-mail address is gone from pairgate.db once checkpointed", async () => {
    const { stores, file } = await openStores();
    const users = new UserStore(stores.db);
    const marker = `leaver${randomBytes(6).toString('hex')}`;
    const email = `${marker}@example.test`;
    const user = await users.create({ username: marker, email, passwordHash: 'scrypt$hash' }, Date.now());
    await checkpointed(file, email);
    // In the users table and in its unique index on e-mail.
    expect(readFileSync(file).includes(email)).toBe(true);

    expect(await users.delete(user.id)).toBe(true);
    // The sentinel goes in another table: a new user could be written over the deleted one's place.
    const sentinel = `sentinel${randomBytes(6).toString('hex')}`;
    await createGrants(stores, sentinel, 1, 3_600_000, Date.now());
    await checkpointed(file, `${sentinel}n0x`);
    expect(readFileSync(file).includes(email)).toBe(false);
    expect(readFileSync(file).includes(marker)).toBe(false);
  });

  it("swept grants' requests are gone from pairgate.db, the pages the sweep freed included", async () => {
    const { stores, file } = await openStores();
    const tag = randomBytes(6).toString('hex');
    const now = Date.now();
    // The oldest grants expire: the sweep empties whole pages of the table, which SQLite frees.
    await createGrants(stores, `swept${tag}`, 1_500, 1_000, now);
    await createGrants(stores, `live${tag}`, 500, 3_600_000, now);
    await checkpointed(file, `live${tag}n499x`);
    expect(found(file, new RegExp(`swept${tag}n\\d+x`, 'g'))).toBe(1_500);

    expect(await stores.grants.sweepExpired(now + 2_000)).toEqual({ generic: 1_500 });
    await createGrants(stores, `sentinel${tag}`, 1, 3_600_000, now);
    await checkpointed(file, `sentinel${tag}n0x`);
    expect(found(file, new RegExp(`swept${tag}n\\d+x`, 'g'))).toBe(0);
    // The search itself finds what is still there.
    expect(found(file, new RegExp(`live${tag}n\\d+x`, 'g'))).toBe(500);
  });
});
