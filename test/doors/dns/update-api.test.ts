import { request } from 'node:https';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoxIdentity } from '../../../src/doors/registry/box-identity.js';
import type { DnsRuntime } from '../../../src/doors/dns/dns-door.js';
import { MirrorRecords } from '../../../src/doors/dns/mirror-records.js';
import { MAX_CHAIN } from '../../../src/doors/dns/record-validation.js';
import { PairgateApiError } from '../../../src/sdk/errors.js';
import type { DnsUpdateClient } from '../../../src/sdk/dns-update.js';
import type { TestApp } from '../../helpers/app.js';
import { createDnsApp, newBox, resolverFor, updateClient, ZONE } from './dns-helpers.js';
import { errorsWithoutCodes, placeholderAnswers, type OpenApiAnswers } from '../../helpers/openapi-descriptions.js';

async function failure(promise: Promise<unknown>): Promise<{ status: number; code: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof PairgateApiError) return { status: error.status, code: error.code };
    throw error;
  }
  throw new Error('expected a failure');
}

describe('DNS update API (HTTPS with client certificates)', () => {
  let t: TestApp;
  let runtime: DnsRuntime;
  let mine: BoxIdentity;
  let theirs: BoxIdentity;
  let api: DnsUpdateClient;
  let base: string;
  beforeAll(async () => {
    ({ t, runtime } = await createDnsApp({ PAIRGATE_DNS_MAX_RECORDS_PER_BOX: '12' }));
    [mine, theirs] = await Promise.all([newBox('mine'), newBox('theirs')]);
    api = updateClient(runtime, mine);
    base = `${mine.fingerprint}.${ZONE}`;
  });
  afterAll(() => t.close());

  it('Mozilla paths: POST sets, GET lists, DELETE removes; answered by DNS at once', async () => {
    const set = await api.set(`local.${base}`, 'A', '192.168.1.30');
    expect(set).toEqual({ name: `local.${base}`, type: 'A', value: '192.168.1.30', ttl: 600 });
    // Setting an A again replaces it (one address per name).
    await api.set(`local.${base}`, 'A', '192.168.1.31');
    expect(await resolverFor(runtime.dns.port).resolve4(`local.${base}`)).toEqual(['192.168.1.31']);
    expect(await api.list(base)).toEqual([{ name: `local.${base}`, type: 'A', value: '192.168.1.31', ttl: 600 }]);
    expect(await api.remove(`local.${base}`, { type: 'A' })).toEqual({ deleted: 1 });
    expect(await api.list(base)).toEqual([]);
  });

  it('describes itself in an OpenAPI document on its own listener, readable without a certificate', async () => {
    const document = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${runtime.updateApi!.url}/docs/json`, { ca: runtime.updateCertPem, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(document.status).toBe(200);
    const openapi = JSON.parse(document.body) as { openapi: string; info: { title: string; description: string }; paths: Record<string, Record<string, { summary?: string }>> };
    expect(openapi.openapi).toBe('3.1.0');
    expect(openapi.info.title).toBe('pairgate DNS update API');
    expect(openapi.info.description).toContain(`/v1/dns/test/example/box/<fp>/local is local.<fp>.${ZONE}`);
    const records = Object.entries(openapi.paths).find(([path]) => path.startsWith('/v1/dns/'))?.[1];
    expect(Object.keys(records ?? {}).sort()).toEqual(['delete', 'get', 'post']);
    expect(records?.post?.summary).toMatch(/^Set a record/);
    // The registry's mutual-TLS route on this listener is documented too.
    expect(Object.keys(openapi.paths)).toContain('/register');
    // Every answer says what it is, every error its machine codes.
    expect(placeholderAnswers(openapi as unknown as OpenApiAnswers)).toEqual([]);
    expect(errorsWithoutCodes(openapi as unknown as OpenApiAnswers)).toEqual([]);
  });

  it('401 without a client certificate, for another box\'s names and for names outside the zone', async () => {
    const anonymous = await new Promise<number>((resolve, reject) => {
      const req = request(`${runtime.updateApi!.url}/v1/dns/test/example/box/${mine.fingerprint}/local`, { method: 'GET', ca: runtime.updateCertPem, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(anonymous).toBe(401);
    const foreign = updateClient(runtime, theirs);
    expect(await failure(foreign.set(`local.${base}`, 'A', '6.6.6.6'))).toEqual({ status: 401, code: 'not_owner' });
    expect(await failure(foreign.list(base))).toEqual({ status: 401, code: 'not_owner' });
    expect(await failure(foreign.remove(`local.${base}`))).toEqual({ status: 401, code: 'not_owner' });
    // Names that are in the zone but belong to no box: not owned either.
    expect(await failure(api.set(`www.${ZONE}`, 'A', '1.2.3.4'))).toEqual({ status: 401, code: 'not_owner' });
    // A box that looks like a suffix match must not pass: <fp> must be the label above the zone.
    expect(await failure(api.set(`${mine.fingerprint}.evil.${ZONE}`, 'A', '1.2.3.4'))).toEqual({ status: 401, code: 'not_owner' });
    // Outside the zone is outside the caller's subtree as well (the spec: 401), with its own code;
    // so is the zone's apex.
    expect(await failure(api.set(`local.${mine.fingerprint}.other.test`, 'A', '10.0.0.1'))).toEqual({ status: 401, code: 'name_outside_zone' });
    expect(await failure(api.list(`${mine.fingerprint}.other.test`))).toEqual({ status: 401, code: 'name_outside_zone' });
    expect(await failure(api.set(ZONE, 'A', '10.0.0.1'))).toEqual({ status: 401, code: 'name_outside_zone' });
  });

  it('400 for invalid values', async () => {
    expect(await failure(api.set(`local.${base}`, 'A', '300.1.1.1'))).toEqual({ status: 400, code: 'invalid_ip' });
    expect(await failure(api.set(`local.${base}`, 'A', 'fd00::1'))).toEqual({ status: 400, code: 'invalid_ip' });
    expect(await failure(api.set(`local.${base}`, 'AAAA', '10.0.0.1'))).toEqual({ status: 400, code: 'invalid_ip' });
    expect(await failure(api.set(`t.${base}`, 'TXT', 'x'.repeat(256)))).toEqual({ status: 400, code: 'txt_too_long' });
    expect(await failure(api.set(`t.${base}`, 'TXT', 'line\nbreak'))).toEqual({ status: 400, code: 'invalid_txt' });
    expect(await failure(api.set(`c.${base}`, 'CNAME', 'not a name!'))).toEqual({ status: 400, code: 'invalid_cname' });
    expect(await failure(api.set(`c.${base}`, 'CNAME', `c.${base}`))).toEqual({ status: 400, code: 'cname_loop' });
    // One label without a final dot was served as the top-level name `local.`; the box meant its own.
    const ambiguous = await api.set(`c.${base}`, 'CNAME', 'local').catch((error: unknown) => error as PairgateApiError);
    expect(ambiguous).toMatchObject({ status: 400, code: 'cname_target_ambiguous' });
    expect((ambiguous as PairgateApiError).message).toBe(`The CNAME target "local" is ambiguous: a target is a full name, and "local" alone would be the top-level name "local.". Write local.${base} for this box's name local, or "local." (with the final dot) if the top-level name is meant.`);
    // Full names, with or without their final dot, are taken as they are (stored without it).
    expect(await api.set(`c.${base}`, 'CNAME', 'local.')).toMatchObject({ type: 'CNAME', value: 'local' });
    expect(await api.set(`c.${base}`, 'CNAME', 'Example.ORG')).toMatchObject({ value: 'example.org' });
    expect(await api.set(`c.${base}`, 'CNAME', 'example.org.')).toMatchObject({ value: 'example.org' });
    expect(await resolverFor(runtime.dns.port).resolveCname(`c.${base}`)).toEqual(['example.org']);
    await api.set(`one.${base}`, 'CNAME', `two.${base}`);
    await api.set(`two.${base}`, 'CNAME', `three.${base}`);
    expect(await failure(api.set(`three.${base}`, 'CNAME', `one.${base}`))).toEqual({ status: 400, code: 'cname_loop' });
    expect(await failure(api.set(`one.${base}`, 'A', '10.0.0.1'))).toEqual({ status: 400, code: 'cname_conflict' });
    expect(await failure(api.set(`local.${base}`, 'MX' as 'A', '10.0.0.1'))).toMatchObject({ status: 400 });
    expect(await failure(api.set(`local.${base}`, 'A', '10.0.0.1', 5))).toEqual({ status: 400, code: 'invalid_ttl' });
    // A CNAME loop is never served (and DNS stays up).
    expect(await resolverFor(runtime.dns.port).resolveCname(`one.${base}`)).toEqual([`two.${base}`]);
  });

  it('a refused name or CNAME target says what is wrong with it; the apex is named as the apex', async () => {
    const message = async (promise: Promise<unknown>) => {
      try {
        await promise;
      } catch (error) {
        if (error instanceof PairgateApiError) return `${error.code}: ${error.message}`;
        throw error;
      }
      throw new Error('expected a failure');
    };
    expect(await message(api.set(`${'x'.repeat(64)}.${base}`, 'A', '10.0.0.1'))).toBe(`invalid_name: The path is not a valid DNS name (labels reversed, separated by /): its label "${'x'.repeat(20)}..." is 64 characters long, more than the 63 DNS allows.`);
    expect(await message(api.set(`-x.${base}`, 'A', '10.0.0.1'))).toBe('invalid_name: The path is not a valid DNS name (labels reversed, separated by /): its label "-x" may hold only letters, digits, "-" and "_", and may not start or end with "-".');
    expect(await message(api.set(`www.${base}`, 'CNAME', 'a..example.org.'))).toBe('invalid_cname: A CNAME target must be a valid host name, and "a..example.org." is not: it has an empty label (two dots in a row).');
    expect(await message(api.set(ZONE, 'A', '10.0.0.1'))).toBe(`name_outside_zone: The name ${ZONE} is the zone's apex, which belongs to the server, not to a box; this certificate owns only ${base} and the names under it.`);
  });

  it('a box holds a bounded number of records', async () => {
    const box = await newBox('greedy');
    const greedy = updateClient(runtime, box);
    let refused: { status: number; code: string } | undefined;
    for (let i = 0; i < 14 && !refused; i++) {
      try {
        await greedy.set(`n${i}.${box.fingerprint}.${ZONE}`, 'A', '10.0.0.1');
      } catch (error) {
        refused = { status: (error as PairgateApiError).status, code: (error as PairgateApiError).code };
      }
    }
    expect(refused).toEqual({ status: 400, code: 'too_many_records' });
  });

  it('mirror records: a new local IP goes to the next mirror and the main name; the old mirror keeps its answer', async () => {
    const box = await newBox('mirror');
    const stateFile = join(mkdtempSync(join(tmpdir(), 'pairgate-mirror-')), 'mirror.json');
    const mirrors = new MirrorRecords(updateClient(runtime, box), { fingerprint: box.fingerprint, zone: ZONE, stateFile });
    const resolver = resolverFor(runtime.dns.port);
    const first = await mirrors.publish('192.168.1.10');
    expect(first).toEqual({ name: `a.${box.fingerprint}.${ZONE}`, changed: true });
    expect(await mirrors.publish('192.168.1.10')).toEqual({ name: first.name, changed: false });
    expect(await resolver.resolve4(first.name, { ttl: true })).toEqual([{ address: '192.168.1.10', ttl: 60 }]);

    // The IP changes: published under b, while a still answers the old address until it expires.
    const moved = await new MirrorRecords(updateClient(runtime, box), { fingerprint: box.fingerprint, zone: ZONE, stateFile }).publish('192.168.1.77');
    expect(moved).toEqual({ name: `b.${box.fingerprint}.${ZONE}`, changed: true });
    expect(await resolver.resolve4(moved.name)).toEqual(['192.168.1.77']);
    expect(await resolver.resolve4(first.name)).toEqual(['192.168.1.10']);
    expect(await resolver.resolve4(`local.${box.fingerprint}.${ZONE}`, { ttl: true })).toEqual([{ address: '192.168.1.77', ttl: 600 }]);

    // The records gone (another server, or deleted) while the box's state file says the address is
    // published: the next run writes them again instead of announcing a name that answers nothing.
    await updateClient(runtime, box).remove(moved.name);
    await updateClient(runtime, box).remove(`local.${box.fingerprint}.${ZONE}`);
    const again = await new MirrorRecords(updateClient(runtime, box), { fingerprint: box.fingerprint, zone: ZONE, stateFile }).publish('192.168.1.77');
    expect(again).toEqual({ name: moved.name, changed: false });
    expect(await updateClient(runtime, box).list(moved.name)).toEqual([{ name: moved.name, type: 'A', value: '192.168.1.77', ttl: 60 }]);
    expect(await updateClient(runtime, box).list(`local.${box.fingerprint}.${ZONE}`)).toEqual([expect.objectContaining({ value: '192.168.1.77', ttl: 600 })]);

    // The box moves to IPv6, then back to IPv4 twice: each name holds the address of now only,
    // never a stale one of the other family beside it (which resolvers would answer too).
    const publish = (ip: string) => new MirrorRecords(updateClient(runtime, box), { fingerprint: box.fingerprint, zone: ZONE, stateFile }).publish(ip);
    const held = async (name: string) => (await updateClient(runtime, box).list(name)).map((record) => `${record.type} ${record.value}`);
    const v6 = await publish('fd00::77');
    expect(await held(v6.name)).toEqual(['AAAA fd00::77']);
    expect(await held(`local.${box.fingerprint}.${ZONE}`)).toEqual(['AAAA fd00::77']);
    const v4 = await publish('192.168.1.78');
    expect(await held(v4.name)).toEqual(['A 192.168.1.78']);
    const v4again = await publish('192.168.1.79');
    // The mirror it lands on held the IPv6 address two changes ago.
    expect(v4again.name).toBe(v6.name);
    expect(await held(v4again.name)).toEqual(['A 192.168.1.79']);
    expect(await held(`local.${box.fingerprint}.${ZONE}`)).toEqual(['A 192.168.1.79']);
  });

  it('registry over mutual TLS: the client certificate proves the fingerprint; another box\'s is refused', async () => {
    const registered = await api.register({ fingerprint: mine.fingerprint, local_origin: 'https://192.168.1.44' });
    expect(registered).toEqual({ status: 'registered' });
    const ping = await t.app.inject({ method: 'GET', url: '/ping', remoteAddress: '127.0.0.1' });
    expect(ping.json().map((e: any) => e.client)).toContain(mine.fingerprint);
    expect(await failure(api.register({ client: theirs.fingerprint, message: 'not mine' }))).toEqual({ status: 401, code: 'fingerprint_mismatch' });
    expect(await failure(api.register({ client: mine.legacyFingerprint, message: 'legacy' }))).toEqual({ status: 400, code: 'legacy_fingerprint_disabled' });
  });
});

describe('DNS update API: long CNAME chains', () => {
  it(`a loop through more than MAX_CHAIN (${MAX_CHAIN}) names is refused too, and so is a chain that long; one as long as that is not`, async () => {
    const { t, runtime } = await createDnsApp({ PAIRGATE_DNS_UPDATES_PER_MINUTE: '1000' });
    try {
      const box = await newBox('chain');
      const api = updateClient(runtime, box);
      const name = (i: number) => `c${i}.${box.fingerprint}.${ZONE}`;
      // c1 -> c2 -> ... -> c18: every write extends the chain at its end, so none sees a long walk.
      for (let i = 1; i <= MAX_CHAIN + 2; i++) await api.set(name(i), 'CNAME', name(i + 1));
      // Closing the loop: the walk from c1 meets c18 -> c19 beyond MAX_CHAIN names (it used to stop
      // there and let the loop in).
      expect(await failure(api.set(name(MAX_CHAIN + 3), 'CNAME', name(1)))).toEqual({ status: 400, code: 'cname_chain_too_long' });
      // A chain starting MAX_CHAIN CNAMEs before its end is fine; one more is refused, loop or not.
      expect(await api.set(`start.${box.fingerprint}.${ZONE}`, 'CNAME', name(3))).toMatchObject({ type: 'CNAME' });
      expect(await failure(api.set(`before.${box.fingerprint}.${ZONE}`, 'CNAME', name(2)))).toEqual({ status: 400, code: 'cname_chain_too_long' });
    } finally {
      await t.close();
    }
  });
});

describe('DNS update API rate limit', () => {
  it('counts per client address, so fresh keys do not buy more requests', async () => {
    const { t, runtime } = await createDnsApp({ PAIRGATE_DNS_UPDATES_PER_MINUTE: '4' });
    try {
      const boxes = await Promise.all([newBox('r1'), newBox('r2'), newBox('r3')]);
      const results: { status: number; code: string }[] = [];
      for (let i = 0; i < 6; i++) {
        const box = boxes[i % boxes.length]!;
        results.push(await updateClient(runtime, box).list(`${box.fingerprint}.${ZONE}`).then(() => ({ status: 200, code: 'ok' }), (error: PairgateApiError) => ({ status: error.status, code: error.code })));
      }
      expect(results.slice(0, 4).every((r) => r.status === 200)).toBe(true);
      expect(results.slice(4)).toEqual([{ status: 429, code: 'rate_limited' }, { status: 429, code: 'rate_limited' }]);
    } finally {
      await t.close();
    }
  });

  it('requests without a box certificate (a web page open on the network) count apart: they never spend the boxes\' budget', async () => {
    const { t, runtime } = await createDnsApp({ PAIRGATE_DNS_UPDATES_PER_MINUTE: '3' });
    try {
      const anonymous = () =>
        new Promise<number>((resolve, reject) => {
          const req = request(`${runtime.updateApi!.url}/v1/dns/test/example/box`, { method: 'GET', ca: runtime.updateCertPem, agent: false }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on('error', reject);
          req.end();
        });
      const refused: number[] = [];
      for (let i = 0; i < 5; i++) refused.push(await anonymous());
      expect(refused).toEqual([401, 401, 401, 429, 429]);
      // The same network's box still has all of its own.
      const box = await newBox('after-page');
      for (let i = 0; i < 3; i++) await expect(updateClient(runtime, box).list(`${box.fingerprint}.${ZONE}`)).resolves.toBeDefined();
    } finally {
      await t.close();
    }
  });

  it('one address spending its budget leaves another address its own (the update API is a listener of its own: the key must be the caller\'s network there too)', async () => {
    const { t, runtime } = await createDnsApp({ PAIRGATE_DNS_UPDATES_PER_MINUTE: '3' });
    try {
      const statusFrom = (localAddress: string) =>
        new Promise<number>((resolve, reject) => {
          const req = request(`${runtime.updateApi!.url}/v1/dns/test/example/box`, { method: 'GET', ca: runtime.updateCertPem, agent: false, localAddress }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on('error', reject);
          req.end();
        });
      const first: number[] = [];
      for (let i = 0; i < 4; i++) first.push(await statusFrom('127.0.0.1'));
      expect(first).toEqual([401, 401, 401, 429]);
      // Another machine: not limited by the first one's requests.
      expect(await statusFrom('127.0.0.2')).toBe(401);
    } finally {
      await t.close();
    }
  });
});
