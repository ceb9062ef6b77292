import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DnsRuntime } from '../../../src/doors/dns/dns-door.js';
import { RegistryClient } from '../../../src/sdk/registry.js';
import type { TestApp } from '../../helpers/app.js';
import { createTestDatabase, createTestPrefix, postgresMissing, REDIS_URL, redisMissing } from '../../helpers/services.js';
import { createDnsApp, newBox, resolverFor, updateClient, ZONE } from './dns-helpers.js';

const pgSkip = await postgresMissing();
const redisSkip = await redisMissing();

const setups = [
  { name: 'PostgreSQL and Redis', withRedis: true, skip: pgSkip ?? redisSkip },
  { name: 'PostgreSQL alone', withRedis: false, skip: pgSkip },
];

for (const setup of setups) describe.skipIf(Boolean(setup.skip))(`registry and DNS on two nodes sharing ${setup.name}`, () => {
  const nodes: { t: TestApp; runtime: DnsRuntime; url: string }[] = [];
  let cleanup: () => Promise<void> = async () => {};

  beforeAll(async () => {
    const database = await createTestDatabase();
    const { prefix, cleanup: cleanupPrefix } = createTestPrefix();
    cleanup = async () => {
      await cleanupPrefix();
      await database.drop();
    };
    const env = { PAIRGATE_DATABASE_URL: database.url, ...(setup.withRedis ? { PAIRGATE_REDIS_URL: REDIS_URL, PAIRGATE_REDIS_PREFIX: prefix } : {}) };
    for (let i = 0; i < 2; i++) {
      const node = await createDnsApp(env);
      nodes.push({ ...node, url: await node.t.listen() });
    }
  }, 60_000);

  afterAll(async () => {
    for (const node of nodes) await node.t.close();
    await cleanup();
  });

  it('a record set through one node is answered by the other; an announcement on one is listed by the other', async () => {
    const [a, b] = nodes as [typeof nodes[0], typeof nodes[0]];
    const box = await newBox('shared');
    const name = `local.${box.fingerprint}.${ZONE}`;
    await updateClient(a.runtime, box).set(name, 'A', '192.168.8.8');
    expect(await resolverFor(b.runtime.dns.port).resolve4(name)).toEqual(['192.168.8.8']);
    await updateClient(b.runtime, box).set(`_acme-challenge.${name}`, 'TXT', 'token');
    expect(await resolverFor(a.runtime.dns.port).resolveTxt(`_acme-challenge.${name}`)).toEqual([['token']]);
    expect(await updateClient(a.runtime, box).remove(`_acme-challenge.${name}`)).toEqual({ deleted: 1 });
    // The SOA serial of either node reflects the change within a second, and never goes back.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const [soaA, soaB] = await Promise.all([resolverFor(a.runtime.dns.port).resolveSoa(ZONE), resolverFor(b.runtime.dns.port).resolveSoa(ZONE)]);
    expect(Math.abs(soaA.serial - soaB.serial)).toBeLessThanOrEqual(1);

    await new RegistryClient({ baseUrl: a.url }).announce(box, { fingerprint: box.fingerprint, local_origin: 'https://192.168.8.8' });
    const listed = await new RegistryClient({ baseUrl: b.url }).findBoxes();
    expect(listed.map((found) => found.client)).toEqual([box.fingerprint]);
  });
});
