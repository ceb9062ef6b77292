import { describe, expect, it } from 'vitest';
import { hashToken } from '../../../src/core/ids.js';
import { UserStore } from '../../../src/doors/accounts/users.js';
import { accountsMigrations } from '../../../src/doors/accounts/migrations.js';
import { AppAccesses, MAX_TOKENS_PER_ACCESS, STALE_PENDING_MS } from '../../../src/doors/access/app-accesses.js';
import { accessMigrations } from '../../../src/doors/access/migrations.js';
import type { DurableDb } from '../../../src/store/durable-schema.js';
import { coreMigrations } from '../../../src/store/migrations/core.js';
import { upgradeSetups } from '../../helpers/upgrade-setups.js';

/** The first migration of the token cap: the databases made before it are the ones it upgrades. */
const CAP_MIGRATIONS = '2026121400';

/** One database (SQLite in a folder, a PostgreSQL database), opened with the migrations given. */
const setups = await upgradeSetups('pairgate-token-cap-');

/** An access of `userId` holding `count` tokens, one a second from `from`, written as the earlier version wrote them; the tokens, oldest first. */
async function accessWithTokens(db: DurableDb, userId: string, appId: string, count: number, from: number): Promise<string[]> {
  const id = `access-${appId}`;
  await db.insertInto('app_accesses').values({ id, user_id: userId, app_id: appId, device_name: '', permissions: '[]', created_at: from, updated_at: from, expires_at: null }).execute();
  const tokens = Array.from({ length: count }, (_, i) => `${appId}-token-${String(i).padStart(2, '0')}-${'x'.repeat(24)}`);
  for (const [i, token] of tokens.entries()) {
    // The columns of that version: no `pending`.
    await db.insertInto('app_access_tokens').columns(['token_hash', 'access_id', 'created_at']).values({ token_hash: hashToken(token), access_id: id, created_at: from + i * 1000 } as never).execute();
  }
  return tokens;
}

/**
 * Accesses made before the token cap (MAX_TOKENS_PER_ACCESS) held a token per accept of their app,
 * without bound, and kept them all until the app's next accept trimmed them. The upgrade keeps
 * each access's newest and revokes the others at once; an access under the cap keeps every token;
 * the tokens kept are settled (counted by the cap), so the next accept trims one, not none.
 */
for (const setup of setups) describe.skipIf(Boolean(setup.skip))(`the upgrade that brings the token cap, ${setup.name}${setup.skip ? ` (skipped: ${setup.skip})` : ''}`, () => {
  it('trims an access above the cap to its newest tokens and leaves the others as they were', async () => {
    const { open, drop } = await setup.make();
    const before = Object.fromEntries(Object.entries(accessMigrations).filter(([name]) => name < CAP_MIGRATIONS));
    const now = Date.now();
    try {
      const old = await open({ ...coreMigrations, ...accountsMigrations, ...before });
      const user = await new UserStore(old.db).create({ username: 'many-old-tokens', email: 'old@example.test', passwordHash: 'x' }, now);
      const many = await accessWithTokens(old.db, user.id, 'piled-up-app', MAX_TOKENS_PER_ACCESS + 5, now - 3_600_000);
      const few = await accessWithTokens(old.db, user.id, 'few-tokens-app', 3, now - 3_600_000);
      await old.close();

      const upgraded = await open({ ...coreMigrations, ...accountsMigrations, ...accessMigrations });
      try {
        const accesses = new AppAccesses(upgraded.db);
        const opens = async (tokens: string[]): Promise<boolean[]> => Promise.all(tokens.map(async (token) => (await accesses.findByToken(token, now)) !== undefined));
        expect(await opens(many)).toEqual([...Array(5).fill(false), ...Array(MAX_TOKENS_PER_ACCESS).fill(true)]);
        expect(await opens(few)).toEqual([true, true, true]);

        // The kept ones count: the next accept that wins trims the oldest of them.
        const next = await accesses.addToken('access-piled-up-app', now);
        expect(next).not.toBe('ended');
        await accesses.settle('access-piled-up-app', hashToken(next), now);
        expect(await opens(many.slice(5))).toEqual([false, ...Array(MAX_TOKENS_PER_ACCESS - 1).fill(true)]);
        expect(await opens([next])).toEqual([true]);
      } finally {
        await upgraded.close();
      }
    } finally {
      await drop();
    }
  }, 30_000);

  it('counts a token left pending long ago (its accept never finished) as settled, and leaves a recent pending one alone', async () => {
    const { open, drop } = await setup.make();
    const now = Date.now();
    try {
      const stores = await open({ ...coreMigrations, ...accountsMigrations, ...accessMigrations });
      try {
        const user = await new UserStore(stores.db).create({ username: 'stale-pending', email: 'stale@example.test', passwordHash: 'x' }, now);
        const settled = await accessWithTokens(stores.db, user.id, 'stale-pending-app', MAX_TOKENS_PER_ACCESS, now - 3_600_000);
        const write = (token: string, createdAt: number) => stores.db.insertInto('app_access_tokens').values({ token_hash: hashToken(token), access_id: 'access-stale-pending-app', created_at: createdAt, pending: 1 }).execute();
        const stale = `stale-pending-token-${'x'.repeat(24)}`;
        const recent = `recent-pending-token-${'x'.repeat(24)}`;
        await write(stale, now - STALE_PENDING_MS - 60_000);
        await write(recent, now - 1_000);
        const accesses = new AppAccesses(stores.db);
        const next = await accesses.addToken('access-stale-pending-app', now);
        expect(next).not.toBe('ended');
        await accesses.settle('access-stale-pending-app', hashToken(next as string), now);
        const opens = async (tokens: string[]): Promise<boolean[]> => Promise.all(tokens.map(async (token) => (await accesses.findByToken(token, now)) !== undefined));
        // Counted: the new one, the stale one and the eight newest settled are the ten kept.
        expect(await opens(settled)).toEqual([false, false, ...Array(MAX_TOKENS_PER_ACCESS - 2).fill(true)]);
        expect(await opens([stale, recent, next as string])).toEqual([true, true, true]);
      } finally {
        await stores.close();
      }
    } finally {
      await drop();
    }
  }, 30_000);
});
