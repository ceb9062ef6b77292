import { expect, it } from 'vitest';
import { dnsMigrations, DnsRecords, type DnsRecordRow } from '../../../src/doors/dns/dns-records.js';
import { coreMigrations } from '../../../src/store/migrations/core.js';
import { SWEEP_BATCH_ROWS } from '../../../src/store/sql/batched-delete.js';
import { DeleteCounter } from '../../helpers/delete-counter.js';
import { describeOnEachStore, sqlStoreSetups } from '../../helpers/sql-store-setups.js';

const migrations = { ...coreMigrations, ...dnsMigrations };
const setups = await sqlStoreSetups(migrations);

const ZONE = 'zone.test';
/** The sweeps' time: in 2001, before the serial the migration started at (now's seconds), so each rise of the serial is one. */
const NOW = 1_000_000_000_000;
const OWNER = 'box';
const DAY = 86_400_000;

/** A row of the zone written at `updatedAt`. */
function row(id: string, name: string, type: string, updatedAt: number): DnsRecordRow {
  return { id, name: `${name}.${OWNER}.${ZONE}`, type, value: id, ttl: 60, owner: OWNER, created_at: updatedAt, updated_at: updatedAt, network: '192.0.2.1' };
}

/**
 * The DNS door's sweeps deleted every stale record in one statement, in one transaction with the
 * serial's rise: a backlog held SQLite's event loop, or outlasted PostgreSQL's query timeout and
 * failed at every sweep. Now a batch at a time, each batch in a transaction that raises the serial
 * once, so the serial still rises with every change.
 */
describeOnEachStore(setups, `DNS sweeps of a backlog`, (stores) => {
  const insert = async (rows: DnsRecordRow[]) => {
    for (let i = 0; i < rows.length; i += 500) await stores().db.insertInto('dns_records').values(rows.slice(i, i + 500)).execute();
  };
  const names = async () => (await stores().db.selectFrom('dns_records').select('name').orderBy('name').execute()).map((r) => r.name.split('.')[0]);
  const storedSerial = async () => Number((await stores().db.selectFrom('dns_zone_serial').select('serial').executeTakeFirstOrThrow()).serial);

  it('removeUnrefreshed deletes a backlog in batches, raising the serial once a batch, and yields between them', async () => {
    const now = NOW;
    const stale = 2 * SWEEP_BATCH_ROWS + 1;
    await insert([...Array.from({ length: stale }, (_, i) => row(`old${i}`, `old${i}`, 'A', now - 31 * DAY)), row('fresh', 'fresh', 'A', now)]);
    const before = await storedSerial();
    const counter = new DeleteCounter();
    const records = new DnsRecords(stores().db.withPlugin(counter));
    let swept = false;
    let ranDuring = false;
    // Queued before the sweep starts: it runs during the sweep only if the sweep lets the loop turn.
    setImmediate(() => {
      ranDuring = !swept;
    });

    expect(await records.removeUnrefreshed(now - 30 * DAY, now).finally(() => {
      swept = true;
    })).toBe(stale);
    // 1,000, 1,000, then 1: each its own transaction, each raising the serial.
    expect(counter.deletes).toBe(3);
    expect(ranDuring).toBe(true);
    expect(await storedSerial()).toBe(before + 3);
    expect(await records.serial()).toBe(before + 3);
    expect(await names()).toEqual(['fresh']);
  });

  it('removeStaleChallenges deletes a backlog of old challenges in batches, and nothing else', async () => {
    const now = NOW;
    const stale = SWEEP_BATCH_ROWS + 1;
    await insert([
      ...Array.from({ length: stale }, (_, i) => row(`c${i}`, `_acme-challenge.c${i}`, 'TXT', now - 2 * 3_600_000)),
      row('young', '_acme-challenge.young', 'TXT', now),
      // Old, but not a challenge: `_` is no wildcard here.
      row('other', 'xacme-challenge.other', 'TXT', now - 2 * 3_600_000),
    ]);
    const before = await storedSerial();
    const counter = new DeleteCounter();

    expect(await new DnsRecords(stores().db.withPlugin(counter)).removeStaleChallenges(now - 3_600_000, now)).toBe(stale);
    expect(counter.deletes).toBe(2);
    expect(await storedSerial()).toBe(before + 2);
    expect(await names()).toEqual(['_acme-challenge', 'xacme-challenge']);
    // Nothing left to sweep: no statement changes the zone, so the serial stays.
    expect(await new DnsRecords(stores().db).removeStaleChallenges(now - 3_600_000, now)).toBe(0);
    expect(await storedSerial()).toBe(before + 2);
  });
});
