import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { randomId } from '../../src/core/ids.js';
import { coreMigrations } from '../../src/store/migrations/core.js';
import { countLiveQuery, countPendingQuery } from '../../src/store/sql/grant-queries.js';
import { LiveCounts } from '../../src/store/sqlite/live-counts.js';
import { openSqliteStores, type SqliteStores } from '../../src/store/sqlite/sqlite-stores.js';

const KINDS = ['pair', 'device'] as const;

/** What a run does to the store, one step at a time. */
type Step =
  | { op: 'create'; kind: (typeof KINDS)[number]; ttl: number }
  | { op: 'delete'; pick: number }
  | { op: 'extend'; pick: number; by: number }
  | { op: 'approve'; pick: number }
  | { op: 'advance'; ms: number }
  | { op: 'sweep' }
  | { op: 'reopen' };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('create' as const), kind: fc.constantFrom(...KINDS), ttl: fc.integer({ min: 1, max: 5_000 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('extend' as const), pick: fc.nat(), by: fc.integer({ min: -3_000, max: 3_000 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('approve' as const), pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 2_000 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('sweep' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('reopen' as const) }) },
);

/** The count SQL gives: every row of `kind` expiring after `now`. */
async function sqlCount(stores: SqliteStores, kind: string, now: number): Promise<number> {
  return Number((await countLiveQuery(stores.db, kind, now).executeTakeFirst())?.n ?? 0);
}

/** The same, of the rows still pending. */
async function sqlPendingCount(stores: SqliteStores, kind: string, now: number): Promise<number> {
  return Number((await countPendingQuery(stores.db, kind, now).executeTakeFirst())?.n ?? 0);
}

describe('the SQLite store counts live grants in memory', () => {
  it('agrees with a count in SQL, of live and of pending grants, after any mix of creations, decisions, deletions, new expiries, sweeps and restarts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 60 }), async (steps) => {
        const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-live-'));
        let stores = await openSqliteStores({ dataDir, migrations: coreMigrations });
        let now = Date.now();
        const ids: string[] = [];
        try {
          for (const s of steps) {
            if (s.op === 'create') {
              const grant = await stores.grants.create({ id: randomId(), kind: s.kind, request: {}, ttlMs: s.ttl }, now);
              ids.push(grant.id);
            } else if (s.op === 'advance') {
              now += s.ms;
            } else if (s.op === 'sweep') {
              await stores.grants.sweepExpired(now);
            } else if (s.op === 'reopen') {
              await stores.close();
              stores = await openSqliteStores({ dataDir, migrations: coreMigrations });
            } else if (ids.length > 0) {
              const id = ids[s.pick % ids.length]!;
              const grant = await stores.grants.findById(id, now);
              if (s.op === 'delete') await stores.grants.delete(id);
              else if (grant && s.op === 'extend') await stores.grants.update(id, grant.version, { expiresAt: grant.expiresAt + s.by }, now);
              else if (grant && s.op === 'approve') await stores.grants.update(id, grant.version, { state: 'approved', result: { ok: true } }, now);
            }
            for (const kind of KINDS) {
              expect(await stores.grants.countLive(kind, now), `${kind} after ${JSON.stringify(s)}`).toBe(await sqlCount(stores, kind, now));
              expect(await stores.grants.countPending(kind, now), `pending ${kind} after ${JSON.stringify(s)}`).toBe(await sqlPendingCount(stores, kind, now));
            }
          }
        } finally {
          await stores.close();
        }
      }),
      { numRuns: 40 },
    );
  }, 120_000);
});

describe('LiveCounts', () => {
  it('counts each kind apart, drops what expired, and a removal only once', () => {
    const live = new LiveCounts();
    live.add('a', 100);
    live.add('a', 200);
    live.add('a', 200);
    live.add('b', 150);
    expect([live.count('a', 0), live.count('b', 0), live.count('c', 0)]).toEqual([3, 1, 0]);
    live.remove('a', 200);
    expect(live.count('a', 0)).toBe(2);
    // At 100 the first has expired: it is dropped, and the removal of one of the 200s still holds.
    expect(live.count('a', 100)).toBe(1);
    expect(live.count('a', 200)).toBe(0);
    // A removal of what has already expired and left changes nothing.
    live.remove('a', 150);
    live.add('a', 300);
    expect(live.count('a', 200)).toBe(1);
    // A clock gone back counts as of the latest time seen.
    expect(live.count('b', 100)).toBe(1);
    expect(live.count('b', 160)).toBe(0);
    expect(live.count('b', 100)).toBe(0);
  });
});
