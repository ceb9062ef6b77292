import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { dnsMigrations, DnsRecords } from '../../../src/doors/dns/dns-records.js';
import { coreMigrations } from '../../../src/store/migrations/core.js';
import type { Stores } from '../../../src/store/ports.js';
import { openSqliteStores } from '../../../src/store/sqlite/sqlite-stores.js';

// Two nodes sharing one database: each has its own DnsRecords (its look-up cache and serial). The
// wall clock of the node answering is stepped back (NTP correcting a clock that ran ahead): only
// `Date` is faked, which is what a step changes; timers and `performance.now()` run on.
const HOUR_MS = 3_600_000;
const ZONE = 'clock-step.example.test';

describe('the DNS look-up cache and SOA serial when the wall clock is stepped back (two nodes, one SQLite database)', () => {
  let stores: Stores;
  beforeAll(async () => {
    stores = await openSqliteStores({ dataDir: ':memory:', migrations: { ...coreMigrations, ...dnsMigrations } });
  });
  afterAll(() => stores.close());
  afterEach(() => {
    vi.useRealTimers();
  });

  const put = (records: DnsRecords, name: string, value: string, at: number) => records.put({ name, type: 'A', value, ttl: 60, owner: 'box', network: '127.0.0.1' }, at);

  it('answers another node\'s change after the cache\'s second of elapsed time, not an hour later', async () => {
    const answering = new DnsRecords(stores.db);
    const writing = new DnsRecords(stores.db);
    const name = `cache.${ZONE}`;
    await put(writing, name, '192.0.2.1', Date.now());
    expect((await answering.answering('box')).map((record) => record.value)).toEqual(['192.0.2.1']);
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() - HOUR_MS });
    await put(writing, name, '192.0.2.2', Date.now());
    await sleep(1_100);
    expect((await answering.answering('box')).map((record) => record.value)).toEqual(['192.0.2.2']);
  });

  it('reads the serial again after a second of elapsed time, though the clock went back an hour', async () => {
    const answering = new DnsRecords(stores.db);
    const writing = new DnsRecords(stores.db);
    const first = Date.now();
    await put(writing, `serial.${ZONE}`, '192.0.2.3', first);
    const before = await answering.serial();
    expect(before).toBeGreaterThanOrEqual(Math.floor(first / 1000));
    vi.useFakeTimers({ toFake: ['Date'], now: first - HOUR_MS });
    // Another node whose clock is right writes a change ten seconds on.
    await put(writing, `serial.${ZONE}`, '192.0.2.4', first + 10_000);
    await sleep(1_100);
    expect(await answering.serial()).toBe(Math.floor((first + 10_000) / 1000));
  });
});
