import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import dnsPacket from 'dns-packet';
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { base32Lower } from '../../../src/core/fingerprint.js';
import { DnsResponder } from '../../../src/doors/dns/dns-answer.js';
import { dnsMigrations, DnsRecords, type RecordType } from '../../../src/doors/dns/dns-records.js';
import { coreMigrations } from '../../../src/store/migrations/core.js';
import type { Stores } from '../../../src/store/ports.js';
import { openSqliteStores } from '../../../src/store/sqlite/sqlite-stores.js';
import { describeOnEachStore, sqlStoreSetups } from '../../helpers/sql-store-setups.js';

const ZONE = 'flood.example.test';
/** Says why a query was answered SERVFAIL (the tests then fail on its RCODE). */
const onError = (error: unknown) => console.error('SERVFAIL', error);
const setups = await sqlStoreSetups({ ...coreMigrations, ...dnsMigrations });
const settings = { zone: ZONE, nameServers: [`ns1.${ZONE}`], nameServerAddresses: [], hostmaster: `hostmaster.${ZONE}`, ttl: 600, negativeTtl: 60 };

/** Counts the reads of the zone's records that go to the database. */
class RecordReads implements KyselyPlugin {
  count = 0;
  /** Each read, as its query's tree in JSON (which holds the values it compares with). */
  readonly queries: string[] = [];
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (args.node.kind === 'SelectQueryNode' && JSON.stringify(args.node.from).includes('"dns_records"')) {
      this.count++;
      this.queries.push(JSON.stringify(args.node));
    }
    return args.node;
  }
  /** How many reads named `value` (a box's fingerprint: a read of its records). */
  naming(value: string): number {
    return this.queries.filter((query) => query.includes(`"${value}"`)).length;
  }
  transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return Promise.resolve(args.result);
  }
}

/** A random label, as a random-subdomain flood sends. */
const randomLabel = () => randomBytes(6).toString('hex');

/** A random box fingerprint (52 base32 characters), as a flood under random boxes sends. */
const randomFingerprint = () => base32Lower(randomBytes(32));

/** The answer's RCODE (0 NOERROR, 3 NXDOMAIN) to `name` A (or `type`). */
async function rcodeOf(responder: DnsResponder, name: string, type: RecordType = 'A'): Promise<number> {
  const wire = await responder.respond(Buffer.from(dnsPacket.encode({ type: 'query', id: 9, questions: [{ type, name }] })), 'udp');
  return wire!.readUInt16BE(2) & 0xf;
}

/** The answer to `name` `type`: its RCODE, its answers' data and its authority section's types. */
async function answerTo(responder: DnsResponder, name: string, type: RecordType = 'A'): Promise<{ rcode: number; data: unknown[]; authorities: string[] }> {
  const wire = await responder.respond(Buffer.from(dnsPacket.encode({ type: 'query', id: 9, questions: [{ type, name }] })), 'udp');
  const packet = dnsPacket.decode(wire!);
  return {
    rcode: wire!.readUInt16BE(2) & 0xf,
    data: (packet.answers ?? []).map((rr) => (rr as { data?: unknown }).data),
    authorities: (packet.authorities ?? []).map((rr) => rr.type),
  };
}

/**
 * A random-subdomain flood (queries for names nobody wrote, under a real box or none) is answered
 * from the boxes' records read once a second, not with reads of the database per query: each such
 * query was two reads (the name's, then the box's to tell an empty non-terminal apart), a load that
 * anyone sending from many addresses could put on the database.
 */
describe('DNS answers to a random-subdomain flood (real SQLite)', () => {
  let stores: Stores;
  beforeAll(async () => {
    stores = await openSqliteStores({ dataDir: ':memory:', migrations: { ...coreMigrations, ...dnsMigrations } });
  });
  afterAll(() => stores.close());

  it('200 random names under one box read its records once; names under no box read nothing', async () => {
    const box = 'b'.repeat(52);
    const writing = new DnsRecords(stores.db);
    await writing.put({ name: `local.${box}.${ZONE}`, type: 'A', value: '192.0.2.7', ttl: 60, owner: box, network: '127.0.0.1' }, Date.now());
    const reads = new RecordReads();
    const responder = new DnsResponder(new DnsRecords(stores.db.withPlugin(reads)), settings, onError);

    for (let i = 0; i < 200; i++) expect(await rcodeOf(responder, `${randomLabel()}.${box}.${ZONE}`)).toBe(3);
    // The answers are the same as before: the box's name, the empty non-terminal above it.
    expect(await rcodeOf(responder, `local.${box}.${ZONE}`)).toBe(0);
    expect(await rcodeOf(responder, `${box}.${ZONE}`)).toBe(0);
    // The boxes holding records, read once (one page), and the box's records.
    expect(reads.count).toBe(2);

    // Not under a fingerprint: no box wrote there (the update API writes under the writer's own).
    for (let i = 0; i < 50; i++) expect(await rcodeOf(responder, `${randomLabel()}.${ZONE}`)).toBe(3);
    expect(reads.count).toBe(2);
  });

  it('a write through the answering node is answered at once; another node\'s within the cache\'s second', async () => {
    const box = 'c'.repeat(52);
    const answering = new DnsRecords(stores.db);
    const responder = new DnsResponder(answering, settings, onError);
    expect(await rcodeOf(responder, `new.${box}.${ZONE}`)).toBe(3);
    await answering.put({ name: `new.${box}.${ZONE}`, type: 'A', value: '192.0.2.8', ttl: 60, owner: box, network: '127.0.0.1' }, Date.now());
    expect(await rcodeOf(responder, `new.${box}.${ZONE}`)).toBe(0);
    await answering.remove(`new.${box}.${ZONE}`, {}, Date.now());
    expect(await rcodeOf(responder, `new.${box}.${ZONE}`)).toBe(3);
    await new DnsRecords(stores.db).put({ name: `other.${box}.${ZONE}`, type: 'A', value: '192.0.2.9', ttl: 60, owner: box, network: '127.0.0.1' }, Date.now());
    await expect.poll(() => rcodeOf(responder, `other.${box}.${ZONE}`), { timeout: 3000, interval: 100 }).toBe(0);
  });
});

/**
 * Names under fingerprints that hold no record (a flood of random boxes) are answered from the set
 * of boxes holding records (`ZoneOwners`), not a read of the database each: the look-up cache is
 * per box, so each random fingerprint missed it and read the store, about 2.3 times a cached
 * query's work on SQLite at 20,000 boxes. Another node's writes reach the set within the cache's
 * second (an incremental read by `updated_at`), its deletions by the look-up cache as before.
 */
describeOnEachStore(setups, 'DNS answers under fingerprints holding no record', (stores) => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const put = (records: DnsRecords, name: string, owner: string, type: RecordType = 'A', value = '192.0.2.10', at = Date.now()) =>
    records.put({ name, type, value, ttl: 60, owner, network: '127.0.0.1' }, at);

  it('a flood of random fingerprints reads nothing once the boxes are loaded; every spelling of a real box is answered', async () => {
    const box = randomFingerprint();
    await put(new DnsRecords(stores().db), `local.${box}.${ZONE}`, box);
    await put(new DnsRecords(stores().db), `_acme-challenge.${box}.${ZONE}`, box, 'TXT', 'token');
    const reads = new RecordReads();
    // A look-up cache longer than the test: no refresh comes between the queries.
    const responder = new DnsResponder(new DnsRecords(stores().db.withPlugin(reads), 60_000), settings, onError);
    expect(await rcodeOf(responder, `${randomFingerprint()}.${ZONE}`)).toBe(3);
    const loaded = reads.count;
    expect(loaded).toBe(1);

    for (let i = 0; i < 100; i++) {
      const fp = randomFingerprint();
      for (const name of [`${fp}.${ZONE}`, `${randomLabel()}.${fp}.${ZONE}`, `_acme-challenge.${fp}.${ZONE}`, `WWW.${fp.toUpperCase()}.${ZONE.toUpperCase()}`]) {
        const answer = await answerTo(responder, name);
        expect(answer.rcode).toBe(3);
        expect(answer.authorities).toEqual(['SOA']);
      }
    }
    expect(reads.count).toBe(loaded);

    // The box itself, in any case, its challenge included: one read of its records.
    expect((await answerTo(responder, `LOCAL.${box.toUpperCase()}.${ZONE}`)).data).toEqual(['192.0.2.10']);
    expect(await rcodeOf(responder, `_acme-challenge.${box}.${ZONE}`, 'TXT')).toBe(0);
    expect(await rcodeOf(responder, `${box}.${ZONE}`)).toBe(0);
    expect(await rcodeOf(responder, `${randomLabel()}.${box}.${ZONE}`)).toBe(3);
    expect(reads.count).toBe(loaded + 1);
    // The apex and the name server's name are no box's.
    expect(await rcodeOf(responder, ZONE, 'A')).toBe(0);
    expect(await rcodeOf(responder, `ns1.${ZONE}`)).toBe(3);
    expect(reads.count).toBe(loaded + 1);
  });

  it('with the one-second cache, a flood of random fingerprints reads the store at most once a second', async () => {
    await put(new DnsRecords(stores().db), `local.${randomFingerprint()}.${ZONE}`, randomFingerprint());
    const reads = new RecordReads();
    const responder = new DnsResponder(new DnsRecords(stores().db.withPlugin(reads)), settings, onError);
    const started = performance.now();
    for (let i = 0; i < 300; i++) expect(await rcodeOf(responder, `${randomLabel()}.${randomFingerprint()}.${ZONE}`)).toBe(3);
    const seconds = (performance.now() - started) / 1000;
    // The first full read, then at most one refresh a second.
    expect(reads.count).toBeLessThanOrEqual(2 + Math.floor(seconds));
  });

  it('a box\'s first record, written through another node, is answered within the cache\'s second; so is an ACME challenge alone', async () => {
    const answering = new DnsRecords(stores().db);
    const responder = new DnsResponder(answering, settings, onError);
    const [box, acmeBox] = [randomFingerprint(), randomFingerprint()];
    expect(await rcodeOf(responder, `local.${box}.${ZONE}`)).toBe(3);
    expect(await rcodeOf(responder, `_acme-challenge.${acmeBox}.${ZONE}`, 'TXT')).toBe(3);

    const other = new DnsRecords(stores().db);
    await put(other, `local.${box}.${ZONE}`, box);
    await put(other, `_acme-challenge.${acmeBox}.${ZONE}`, acmeBox, 'TXT', 'token');
    const written = performance.now();
    await expect.poll(() => rcodeOf(responder, `local.${box}.${ZONE}`), { timeout: 5000, interval: 50 }).toBe(0);
    // The bound: the cache's second and a read (slack for a loaded machine).
    expect(performance.now() - written).toBeLessThan(2000);
    expect((await answerTo(responder, `_acme-challenge.${acmeBox}.${ZONE}`, 'TXT')).data).toEqual([[Buffer.from('token')]]);
  });

  for (const step of [{ words: 'forward', ms: 3_600_000 }, { words: 'back', ms: -3_600_000 }]) {
    it(`another node's first record is answered within the second after this node's wall clock stepped ${step.words} an hour`, async () => {
      const responder = new DnsResponder(new DnsRecords(stores().db), settings, onError);
      expect(await rcodeOf(responder, `${randomFingerprint()}.${ZONE}`)).toBe(3);
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + step.ms });
      // A refresh after the step (a query for a box the set lacks, a second on), then the write.
      await sleep(1_100);
      expect(await rcodeOf(responder, `${randomFingerprint()}.${ZONE}`)).toBe(3);
      const box = randomFingerprint();
      // Dated by the writing node's clock, which was not stepped.
      await put(new DnsRecords(stores().db), `local.${box}.${ZONE}`, box, 'A', '192.0.2.11', Date.now() - step.ms);
      const written = performance.now();
      await expect.poll(() => rcodeOf(responder, `local.${box}.${ZONE}`), { timeout: 5000, interval: 50 }).toBe(0);
      expect(performance.now() - written).toBeLessThan(2000);
    });
  }

  it('a box whose records are removed goes NXDOMAIN: through this node at once, and then reads nothing; through another within the second', async () => {
    const reads = new RecordReads();
    const answering = new DnsRecords(stores().db.withPlugin(reads));
    const responder = new DnsResponder(answering, settings, onError);
    const [mine, theirs, expired] = [randomFingerprint(), randomFingerprint(), randomFingerprint()];
    await put(answering, `local.${mine}.${ZONE}`, mine);
    await put(answering, `local.${theirs}.${ZONE}`, theirs);
    await put(answering, `local.${expired}.${ZONE}`, expired, 'A', '192.0.2.12', Date.now() - 40 * 86_400_000);
    for (const box of [mine, theirs, expired]) expect(await rcodeOf(responder, `local.${box}.${ZONE}`)).toBe(0);

    expect(await answering.remove(`local.${mine}.${ZONE}`, {}, Date.now())).toBe(1);
    expect(await answering.removeUnrefreshed(Date.now() - 30 * 86_400_000, Date.now())).toBe(1);
    const before = reads.count;
    for (const box of [mine, expired]) {
      expect(await rcodeOf(responder, `local.${box}.${ZONE}`)).toBe(3);
      expect(await rcodeOf(responder, `${box}.${ZONE}`)).toBe(3);
    }
    // Neither box is read again: the set forgot them with the deletions.
    expect(reads.count).toBe(before);

    expect(await new DnsRecords(stores().db).remove(`local.${theirs}.${ZONE}`, {}, Date.now())).toBe(1);
    await expect.poll(() => rcodeOf(responder, `local.${theirs}.${ZONE}`), { timeout: 3000, interval: 50 }).toBe(3);
    expect(await rcodeOf(responder, `${theirs}.${ZONE}`)).toBe(3);
  });

  it('a box another node emptied leaves the set at the next full read', async () => {
    const reads = new RecordReads();
    // Refreshed every 100 ms, read whole every 300 ms.
    const responder = new DnsResponder(new DnsRecords(stores().db.withPlugin(reads), 100, 300), settings, onError);
    const box = randomFingerprint();
    const other = new DnsRecords(stores().db);
    await put(other, `local.${box}.${ZONE}`, box);
    expect(await rcodeOf(responder, `local.${box}.${ZONE}`)).toBe(0);
    await other.remove(`local.${box}.${ZONE}`, {}, Date.now());
    // Still held: each query under it past the cache's time reads its records, and finds none.
    await sleep(150);
    expect(await rcodeOf(responder, `x.${box}.${ZONE}`)).toBe(3);
    expect(reads.naming(box)).toBe(2);
    // A query for a box the set lacks refreshes it, and starts the full read when one is due.
    await expect.poll(async () => {
      await rcodeOf(responder, `${randomFingerprint()}.${ZONE}`);
      await sleep(150);
      const before = reads.naming(box);
      return { rcode: await rcodeOf(responder, `x.${box}.${ZONE}`), readItsRecords: reads.naming(box) > before };
    }, { timeout: 5000, interval: 50 }).toEqual({ rcode: 3, readItsRecords: false });
  });
});
