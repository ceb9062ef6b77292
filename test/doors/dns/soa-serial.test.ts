import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACME_CHALLENGE_LABEL, dnsMigrations, DnsRecords } from '../../../src/doors/dns/dns-records.js';
import { coreMigrations } from '../../../src/store/migrations/core.js';
import type { Stores } from '../../../src/store/ports.js';
import { openPostgresStores } from '../../../src/store/postgres/postgres-stores.js';
import { openSqliteStores } from '../../../src/store/sqlite/sqlite-stores.js';
import { createTestDatabase, postgresMissing } from '../../helpers/services.js';

// Nodes sharing one database, each with its own DnsRecords (its cache and serial); a cache of 0 ms
// so each reads the serial the store holds again after a millisecond (`settled`).
const migrations = { ...coreMigrations, ...dnsMigrations };
const pgSkip = await postgresMissing();

const setups: { name: string; skip?: string; open(): Promise<{ stores: Stores; drop(): Promise<void> }> }[] = [
  {
    name: 'SQLite',
    async open() {
      const stores = await openSqliteStores({ dataDir: ':memory:', migrations });
      return { stores, drop: async () => undefined };
    },
  },
  {
    name: 'PostgreSQL',
    skip: pgSkip,
    async open() {
      const database = await createTestDatabase();
      const stores = await openPostgresStores({ url: database.url, migrations });
      return { stores, drop: () => database.drop() };
    },
  },
];

const OWNER = 'a'.repeat(52);
/** A serial is read again at most once a millisecond, even with no cache. */
const settled = () => sleep(3);
const ZONE = 'serial.example.test';

for (const setup of setups) describe.skipIf(Boolean(setup.skip))(`the SOA serial on ${setup.name}: raised by every change, deletions on another node included`, () => {
  let stores: Stores;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    ({ stores, drop } = await setup.open());
  }, 60_000);
  afterAll(async () => {
    await stores.close();
    await drop();
  });

  const node = () => new DnsRecords(stores.db, 0);
  const put = (records: DnsRecords, label: string, at: number, type: 'A' | 'TXT' = 'A', value = '192.0.2.1') =>
    records.put({ name: `${label}.${OWNER}.${ZONE}`, type, value, ttl: 60, owner: OWNER, network: '192.0.2.9' }, at);

  it('a deletion through one node raises the serial another node answers', async () => {
    const [writing, answering] = [node(), node()];
    const now = Date.now();
    await put(writing, 'deleted', now);
    const before = await answering.serial();
    expect(before).toBeGreaterThanOrEqual(Math.floor(now / 1000));
    expect(await writing.remove(`deleted.${OWNER}.${ZONE}`, {}, now + 1)).toBe(1);
    await settled();
    // The newest record is gone: max(updated_at) went down, which the serial was read from.
    expect(await answering.serial()).toBeGreaterThan(before);
  });

  it('a node started after the newest record was deleted answers no lower serial than before', async () => {
    const writing = node();
    const now = Date.now();
    await put(writing, 'older', now - 60_000);
    await put(writing, 'newer', now);
    await writing.remove(`newer.${OWNER}.${ZONE}`, {}, now + 1);
    const answered = await writing.serial();
    expect(await node().serial()).toBeGreaterThanOrEqual(answered);
  });

  it('the sweep of old ACME challenges raises it too', async () => {
    const [sweeping, answering] = [node(), node()];
    const now = Date.now();
    await put(sweeping, `${ACME_CHALLENGE_LABEL}.local`, now - 7_200_000, 'TXT', 'token');
    const before = await answering.serial();
    expect(await sweeping.removeStaleChallenges(now - 3_600_000, now)).toBe(1);
    await settled();
    expect(await answering.serial()).toBeGreaterThan(before);
  });

  it('grows by one for each of many writes at once from two nodes, even within one second', async () => {
    const [a, b] = [node(), node()];
    const before = await a.serial();
    // Writes dated long ago: each raises the serial by exactly one (never to its time).
    const writes = Array.from({ length: 20 }, (_, i) => put(i % 2 ? a : b, `burst${i}`, 5_000, 'A', `192.0.2.${i + 10}`));
    await Promise.all(writes);
    expect(await node().serial()).toBe(before + 20);
  });
});
