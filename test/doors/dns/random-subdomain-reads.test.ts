import { randomBytes } from 'node:crypto';
import dnsPacket from 'dns-packet';
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsResponder } from '../../../src/doors/dns/dns-answer.js';
import { dnsMigrations, DnsRecords } from '../../../src/doors/dns/dns-records.js';
import { coreMigrations } from '../../../src/store/migrations/core.js';
import type { Stores } from '../../../src/store/ports.js';
import { openSqliteStores } from '../../../src/store/sqlite/sqlite-stores.js';

const ZONE = 'flood.example.test';
const settings = { zone: ZONE, nameServers: [`ns1.${ZONE}`], nameServerAddresses: [], hostmaster: `hostmaster.${ZONE}`, ttl: 600, negativeTtl: 60 };

/** Counts the reads of the zone's records that go to the database. */
class RecordReads implements KyselyPlugin {
  count = 0;
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (args.node.kind === 'SelectQueryNode' && JSON.stringify(args.node.from).includes('"dns_records"')) this.count++;
    return args.node;
  }
  transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return Promise.resolve(args.result);
  }
}

/** A random label, as a random-subdomain flood sends. */
const randomLabel = () => randomBytes(6).toString('hex');

/** The answer's RCODE (0 NOERROR, 3 NXDOMAIN) to `name` A. */
async function rcodeOf(responder: DnsResponder, name: string): Promise<number> {
  const wire = await responder.respond(Buffer.from(dnsPacket.encode({ type: 'query', id: 9, questions: [{ type: 'A', name }] })), 'udp');
  return wire!.readUInt16BE(2) & 0xf;
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
    const responder = new DnsResponder(new DnsRecords(stores.db.withPlugin(reads)), settings);

    for (let i = 0; i < 200; i++) expect(await rcodeOf(responder, `${randomLabel()}.${box}.${ZONE}`)).toBe(3);
    // The answers are the same as before: the box's name, the empty non-terminal above it.
    expect(await rcodeOf(responder, `local.${box}.${ZONE}`)).toBe(0);
    expect(await rcodeOf(responder, `${box}.${ZONE}`)).toBe(0);
    expect(reads.count).toBe(1);

    // Not under a fingerprint: no box wrote there (the update API writes under the writer's own).
    for (let i = 0; i < 50; i++) expect(await rcodeOf(responder, `${randomLabel()}.${ZONE}`)).toBe(3);
    expect(reads.count).toBe(1);
  });

  it('a write through the answering node is answered at once; another node\'s within the cache\'s second', async () => {
    const box = 'c'.repeat(52);
    const answering = new DnsRecords(stores.db);
    const responder = new DnsResponder(answering, settings);
    expect(await rcodeOf(responder, `new.${box}.${ZONE}`)).toBe(3);
    await answering.put({ name: `new.${box}.${ZONE}`, type: 'A', value: '192.0.2.8', ttl: 60, owner: box, network: '127.0.0.1' }, Date.now());
    expect(await rcodeOf(responder, `new.${box}.${ZONE}`)).toBe(0);
    await answering.remove(`new.${box}.${ZONE}`, {}, Date.now());
    expect(await rcodeOf(responder, `new.${box}.${ZONE}`)).toBe(3);
    await new DnsRecords(stores.db).put({ name: `other.${box}.${ZONE}`, type: 'A', value: '192.0.2.9', ttl: 60, owner: box, network: '127.0.0.1' }, Date.now());
    await expect.poll(() => rcodeOf(responder, `other.${box}.${ZONE}`), { timeout: 3000, interval: 100 }).toBe(0);
  });
});
