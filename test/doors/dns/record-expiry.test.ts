import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { dnsRuntimeOf, type DnsRuntime } from '../../../src/doors/dns/dns-door.js';
import { dnsMigrations, DnsRecords } from '../../../src/doors/dns/dns-records.js';
import type { BoxIdentity } from '../../../src/doors/registry/box-identity.js';
import { coreMigrations } from '../../../src/store/migrations/core.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { storeSetups } from '../../helpers/services.js';
import { newBox, resolverFor, updateRequest, ZONE } from './dns-helpers.js';
import { upgradeSetups } from '../../helpers/upgrade-setups.js';

const DAY = 86_400_000;
const PER_NETWORK = 3;
/** One network (a loopback address of its own): every box behind one address, as behind a carrier-grade NAT. */
const NETWORK = '127.0.0.41';

// One SQLite node, and two nodes sharing PostgreSQL (each sweeping): the sweep's DELETE, and the
// refresh's write, on both stores.
const setups = (await storeSetups()).filter((setup) => !setup.name.includes('Redis'));

/**
 * DNS records never expired: one party filled a shared address's PAIRGATE_DNS_MAX_RECORDS_PER_IP
 * once, with throwaway keys, and no box behind it could add a record again. A record not written
 * again for PAIRGATE_DNS_RECORD_LIFETIME_DAYS is removed by the door's sweep and frees its place;
 * one written again (the same record set again, as `box announce` does) is kept.
 */
for (const setup of setups) describe.skipIf(Boolean(setup.skip))(`DNS records expire unless written again, ${setup.name}${setup.skip ? ` (skipped: ${setup.skip})` : ''}`, () => {
  const clock = new ManualClock(Date.now());
  const nodes: { t: TestApp; runtime: DnsRuntime }[] = [];
  let cleanup: () => Promise<void> = async () => {};

  beforeAll(async () => {
    const made = await setup.env();
    cleanup = made.cleanup;
    for (let i = 0; i < setup.nodes; i++) {
      const t = await createTestApp({
        PAIRGATE_DNS_ZONE: ZONE,
        PAIRGATE_DNS_PORT: '0',
        PAIRGATE_DNS_UPDATE_PORT: '0',
        PAIRGATE_LOG_LEVEL: 'warn',
        PAIRGATE_SWEEP_SECONDS: '1',
        PAIRGATE_DNS_UPDATES_PER_MINUTE: '100000',
        PAIRGATE_DNS_MAX_RECORDS_PER_IP: String(PER_NETWORK),
        PAIRGATE_DNS_RECORD_LIFETIME_DAYS: '30',
        ...made.env,
      }, { clock });
      nodes.push({ t, runtime: dnsRuntimeOf(t.app.pairgate)! });
    }
  }, 60_000);

  afterAll(async () => {
    for (const node of nodes) await node.t.close();
    await cleanup();
  });

  const node = (i: number): DnsRuntime => nodes[i % nodes.length]!.runtime;
  const setA = async (i: number, box: BoxIdentity, label: string, value: string) => {
    const answer = await updateRequest(node(i), box, 'POST', `${label}.${box.fingerprint}.${ZONE}`, { body: { type: 'A', value }, localAddress: NETWORK });
    return answer.status === 200 ? 200 : `${answer.status} ${String(answer.json?.error)}`;
  };
  const labelsOf = async (box: BoxIdentity) => (await node(0).records.ofOwner(box.fingerprint)).map((r) => r.name.split('.')[0]);

  it('an old record is swept and frees the network\'s places; one written again is kept', async () => {
    const [abandoned, newcomer] = await Promise.all([newBox('abandoned'), newBox('newcomer')]);
    expect([await setA(0, abandoned, 'a', '10.0.0.1'), await setA(1, abandoned, 'b', '10.0.0.2'), await setA(0, abandoned, 'c', '10.0.0.3')]).toEqual([200, 200, 200]);
    // The network's places are taken: another box behind the address cannot write.
    const refused = await updateRequest(node(1), newcomer, 'POST', `x.${newcomer.fingerprint}.${ZONE}`, { body: { type: 'A', value: '10.0.1.1' }, localAddress: NETWORK });
    expect(refused).toMatchObject({ status: 400, json: { error: 'too_many_records_from_network', message: expect.stringContaining('not written again for 30 days is removed') } });

    // 20 days on, `a` is written again unchanged (a running box's refresh), through the other node.
    clock.advance(20 * DAY);
    expect(await setA(1, abandoned, 'a', '10.0.0.1')).toBe(200);
    // 11 days more: `b` and `c` were written 31 days ago, `a` 11. A sweep (every second) takes them.
    clock.advance(11 * DAY);
    for (let i = 0; i < 50 && (await labelsOf(abandoned)).length > 1; i++) await sleep(100);
    expect(await labelsOf(abandoned)).toEqual(['a']);
    const resolver = resolverFor(node(1).dns.port);
    expect(await resolver.resolve4(`a.${abandoned.fingerprint}.${ZONE}`)).toEqual(['10.0.0.1']);
    await expect(resolver.resolve4(`b.${abandoned.fingerprint}.${ZONE}`)).rejects.toMatchObject({ code: 'ENOTFOUND' });

    // Their two places are free again, and only those: `a` still holds one.
    expect([await setA(0, newcomer, 'x', '10.0.1.1'), await setA(1, newcomer, 'y', '10.0.1.2'), await setA(0, newcomer, 'z', '10.0.1.3')])
      .toEqual([200, 200, '400 too_many_records_from_network']);
  }, 60_000);
});

/** Each kind of durable database, opened with the migrations of each version. */
const upgrades = await upgradeSetups('pairgate-dns-expiry-');

/**
 * Rows stored before records expired were written once by `box announce` and never again while the
 * address held: dated as written, every such box lost its names at the first sweep after the
 * upgrade. The migration dates them at the upgrade, so each has a whole lifetime to be written again.
 */
for (const setup of upgrades) describe.skipIf(Boolean(setup.skip))(`records stored before the upgrade count from it, ${setup.name}`, () => {
  it('a row written 90 days before the migration is dated at the migration', async () => {
    const { open, drop } = await setup.make();
    const before = Object.fromEntries(Object.entries(dnsMigrations).filter(([name]) => name < '2026121200'));
    const owner = 'k'.repeat(52);
    try {
      const old = await open({ ...coreMigrations, ...before });
      await new DnsRecords(old.db).put({ name: `local.${owner}.${ZONE}`, type: 'A', value: '10.0.0.1', ttl: 60, owner, network: '127.0.0.1' }, Date.now() - 90 * DAY);
      await old.close();
      const upgradedAt = Date.now();
      const upgraded = await open({ ...coreMigrations, ...dnsMigrations });
      const records = new DnsRecords(upgraded.db);
      expect((await records.ofOwner(owner))[0]!.updatedAt).toBeGreaterThanOrEqual(upgradedAt);
      expect(await records.removeUnrefreshed(upgradedAt - 30 * DAY, Date.now())).toBe(0);
      expect(await records.ofOwner(owner)).toHaveLength(1);
      await upgraded.close();
    } finally {
      await drop();
    }
  }, 30_000);
});
