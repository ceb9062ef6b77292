import { describe, expect, it } from 'vitest';
import { randomId } from '../../src/core/ids.js';
import { coreMigrations } from '../../src/store/migrations/core.js';
import { updateQuery } from '../../src/store/sql/grant-queries.js';
import { holdRows, lockWaiters } from '../helpers/lock-races.js';
import { postgresMissing } from '../helpers/services.js';
import { usePostgresStores } from '../helpers/sql-store-setups.js';

const skip = await postgresMissing();
const NOW = 1_000_000_000_000;

/**
 * The PostgreSQL grant sweep deletes a batch in one statement, `DELETE ... WHERE id IN (the
 * expired ones, LIMIT n)`. Under READ COMMITTED the batch is read from the statement's snapshot,
 * and a row another transaction updated meanwhile is checked again only against the DELETE's own
 * conditions once that transaction lets it go: by id alone, a grant whose expiry an update had
 * just extended (the store's contract allows it: `GrantPatch.expiresAt`) was deleted live. The
 * DELETE now checks the expiry too.
 */
describe.skipIf(Boolean(skip))(`postgres grant sweep racing an update that extends an expiry${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const { stores, db, url } = usePostgresStores(coreMigrations);

  it('keeps a grant whose expiry an update extended while the sweep waited for its row', async () => {
    const created = await stores().grants.create({ id: randomId(), kind: 'k', request: {}, ttlMs: 1_000 }, NOW);
    const extendedTo = NOW + 60_000;
    // The store's own update, read as live at its clock (NOW + 500), held uncommitted on a connection of the test's.
    const update = updateQuery(db(), created.id, created.version, { expiresAt: extendedTo }, NOW + 500).compile();
    const holder = await holdRows(url(), update.sql, [...update.parameters]);
    let swept: Promise<Record<string, number>> | undefined;
    try {
      // Expired at the sweep's clock in its snapshot, so in its batch: it waits for the row.
      swept = stores().grants.sweepExpired(NOW + 2_000);
      await expect.poll(() => lockWaiters(db())).toBe(1);
      await holder.release();
      // Before, the DELETE went on by id and deleted the grant, live until NOW + 60 s.
      expect(await swept).toEqual({});
    } finally {
      await holder.release();
      await swept?.catch(() => undefined);
    }
    expect((await stores().grants.findById(created.id, NOW + 2_000))?.expiresAt).toBe(extendedTo);
    // Once it has expired, the sweep deletes it.
    expect(await stores().grants.sweepExpired(extendedTo)).toEqual({ k: 1 });
  });
});
