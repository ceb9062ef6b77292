import { expect, it } from 'vitest';
import { hashToken } from '../../../src/core/ids.js';
import { AppAccesses } from '../../../src/doors/access/app-accesses.js';
import { accessMigrations } from '../../../src/doors/access/migrations.js';
import { accountsMigrations } from '../../../src/doors/accounts/migrations.js';
import { coreMigrations } from '../../../src/store/migrations/core.js';
import { SWEEP_BATCH_ROWS } from '../../../src/store/sql/batched-delete.js';
import { DeleteCounter } from '../../helpers/delete-counter.js';
import { describeOnEachStore, sqlStoreSetups } from '../../helpers/sql-store-setups.js';

const migrations = { ...coreMigrations, ...accountsMigrations, ...accessMigrations };
const setups = await sqlStoreSetups(migrations);

/**
 * The access door's sweep deletes a backlog of ended accesses with their tokens a batch at a time
 * (each batch's tokens and accesses in one transaction), not in one pair of statements for all,
 * which held SQLite's event loop or outlasted PostgreSQL's query timeout.
 */
describeOnEachStore(setups, `access sweep of a backlog`, (stores) => {
  it('deletes every ended access and its tokens in batches, and nothing live', async () => {
    const now = 1_000_000;
    const ended = 2 * SWEEP_BATCH_ROWS + 1;
    const access = (id: string, expiresAt: number | null) => ({ id, user_id: 'u', app_id: id, device_name: '', permissions: '[]', created_at: 0, updated_at: 0, expires_at: expiresAt });
    const accesses = [
      ...Array.from({ length: ended }, (_, i) => access(`ended-${i}`, now - i)),
      access('live', now + 1),
      access('for-ever', null),
    ];
    await stores().db.insertInto('users').values({ id: 'u', username: 'swept', email: 'swept@example.test', password_hash: 'x', created_at: 0 }).execute();
    for (let i = 0; i < accesses.length; i += 1_000) {
      const part = accesses.slice(i, i + 1_000);
      await stores().db.insertInto('app_accesses').values(part).execute();
      await stores().db.insertInto('app_access_tokens').values(part.map((row) => ({ token_hash: hashToken(row.id), access_id: row.id, created_at: 0, pending: 0 }))).execute();
    }
    const counter = new DeleteCounter();

    expect(await new AppAccesses(stores().db.withPlugin(counter)).sweep(now)).toBe(ended);
    // Three batches (1,000, 1,000, 1), two statements each: the tokens, then their accesses.
    expect(counter.deletes).toBe(6);
    expect((await stores().db.selectFrom('app_accesses').select('id').orderBy('id').execute()).map((row) => row.id)).toEqual(['for-ever', 'live']);
    expect((await stores().db.selectFrom('app_access_tokens').select('access_id').orderBy('access_id').execute()).map((row) => row.access_id)).toEqual(['for-ever', 'live']);
  });
});
