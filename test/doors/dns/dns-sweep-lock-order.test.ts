import { describe, expect, it } from 'vitest';
import { randomId } from '../../../src/core/ids.js';
import { dnsMigrations, DnsRecords, type DnsRecordRow } from '../../../src/doors/dns/dns-records.js';
import type { DurableDb } from '../../../src/store/durable-schema.js';
import { coreMigrations } from '../../../src/store/migrations/core.js';
import { deadlocks, holdRows, later, outcomeOf, RACE_AT_ONCE, RACE_ROUNDS, RACE_SHIFTS, raceRounds } from '../../helpers/lock-races.js';
import { postgresMissing } from '../../helpers/services.js';
import { usePostgresStores } from '../../helpers/sql-store-setups.js';

const skip = await postgresMissing();
const migrations = { ...coreMigrations, ...dnsMigrations };
const ZONE = 'zone.test';
const NOW = 1_000_000_000_000;
const DAY = 86_400_000;
/** The stale records at each round's name. */
const ROWS = 40;


/**
 * The DNS door's sweeps on PostgreSQL and a box's records deleted at a name (`remove`), many rows
 * in the order of its plan (by id), while the sweep's batch takes them in the order of its own (by
 * `updated_at`): each waiting for a row the other held deadlocked (40P01). The sweep's batch now
 * locks its rows `FOR UPDATE SKIP LOCKED` and never waits.
 */
describe.skipIf(Boolean(skip))(`DNS sweep racing a deletion at a name, PostgreSQL${skip ? ` (skipped: ${skip})` : ''}`, () => {
  // `planned()`: connections planning as on a large table (a test's small tables are read whole, in one order).
  const { db, url, planned } = usePostgresStores(migrations, { plannedPool: 2 * RACE_AT_ONCE });

  /** `n` TXT records at a name of their own, unrefreshed for 31 days, their ids and their dates running opposite ways; the name and the ids. */
  async function staleAtOneName(n: number): Promise<{ name: string; ids: string[] }> {
    const owner = randomId(8).toLowerCase();
    const name = `_x.${owner}.${ZONE}`;
    const prefix = randomId();
    const rows: DnsRecordRow[] = Array.from({ length: n }, (_, k) => ({
      id: `${prefix}-${String(k).padStart(4, '0')}`, name, type: 'TXT', value: `v${k}`, ttl: 60, owner, created_at: 0, updated_at: NOW - 31 * DAY - k, network: '192.0.2.1',
    }));
    await db().insertInto('dns_records').values(rows).execute();
    return { name, ids: rows.map((row) => row.id) };
  }

  const sweep = (on: DurableDb) => new DnsRecords(on, 0).removeUnrefreshed(NOW - 30 * DAY, NOW);

  it('does not wait for a record another connection holds: returns at once, that record left, the others deleted', async () => {
    const { name, ids } = await staleAtOneName(3);
    const holder = await holdRows(url(), 'select id from dns_records where id = $1 for update', [ids[1]]);
    try {
      const swept = sweep(db());
      // Before, the sweep waited for the held record until its holder ended.
      const outcome = await Promise.race([swept, later(3_000).then(() => 'still waiting after 3 s')]);
      const left = await db().selectFrom('dns_records').select('id').where('name', '=', name).execute();
      await holder.release();
      await swept;
      expect({ outcome, left: left.map((row) => row.id) }).toEqual({ outcome: 2, left: [ids[1]] });
    } finally {
      await holder.release();
    }
    expect(await sweep(db())).toBe(1);
  });

  it(`${RACE_ROUNDS} rounds of the sweep racing a deletion at the name: both answer, no deadlock, nothing left`, { timeout: 60_000 }, async () => {
    const before = await deadlocks(db());
    const results = await raceRounds(async (i): Promise<{ i: number; swept: string; removed: string; left: number }> => {
      const { name } = await staleAtOneName(ROWS);
      const [swept, removed] = await Promise.all([
        outcomeOf(sweep(planned())),
        later(i % RACE_SHIFTS).then(() => outcomeOf(new DnsRecords(planned(), 0).remove(name, {}, NOW))),
      ]);
      const left = await db().selectFrom('dns_records').select('id').where('name', '=', name).execute();
      return { i, swept, removed, left: left.length };
    });
    const failed = results.filter((r) => r.swept !== 'done' || r.removed !== 'done');
    expect(failed, `${failed.length} of ${RACE_ROUNDS} rounds failed`).toEqual([]);
    for (const r of results) expect(r.left, `round ${r.i}`).toBe(0);
    expect(await deadlocks(db())).toBe(before);
  });
});
