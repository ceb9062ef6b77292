import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoxIdentity } from '../../../src/doors/registry/box-identity.js';
import type { DnsRuntime } from '../../../src/doors/dns/dns-door.js';
import { MirrorRecords } from '../../../src/doors/dns/mirror-records.js';
import { PairgateApiError } from '../../../src/sdk/errors.js';
import type { DnsUpdateClient } from '../../../src/sdk/dns-update.js';
import type { TestApp } from '../../helpers/app.js';
import { createDnsApp, newBox, resolverFor, updateClient, ZONE } from './dns-helpers.js';

/** The DNS error code of a look-up that finds nothing (ENODATA or ENOTFOUND), or 'answered'. */
async function lookupFailure(lookup: Promise<unknown>): Promise<string> {
  try {
    await lookup;
    return 'answered';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? 'unknown';
  }
}

describe('DNS address records are compared as addresses, not as text', () => {
  let t: TestApp;
  let runtime: DnsRuntime;
  let box: BoxIdentity;
  let api: DnsUpdateClient;
  let base: string;
  beforeAll(async () => {
    ({ t, runtime } = await createDnsApp());
    box = await newBox('addresses');
    api = updateClient(runtime, box);
    base = `${box.fingerprint}.${ZONE}`;
  });
  afterAll(() => t.close());

  it('an AAAA set in one spelling is deleted by value in another (zeros, compression, upper-case hex)', async () => {
    const name = `v6.${base}`;
    await api.set(name, 'AAAA', '2001:db8::1');
    expect(await api.remove(name, { type: 'AAAA', value: '2001:0DB8:0:0::1' })).toEqual({ deleted: 1 });
    expect(await api.list(name)).toEqual([]);
    expect(await lookupFailure(resolverFor(runtime.dns.port).resolve6(name))).not.toBe('answered');
    // Without a type, the value alone names the address too.
    await api.set(name, 'AAAA', '2001:DB8:0:0:0:0:0:1');
    expect(await api.remove(name, { value: '2001:db8::1' })).toEqual({ deleted: 1 });
    expect(await api.list(name)).toEqual([]);
  });

  it('stores an address in its canonical spelling (RFC 5952), so the list shows what DNS serves', async () => {
    const name = `canon.${base}`;
    expect(await api.set(name, 'AAAA', '2001:0DB8:0000:0000:0001:0000:0000:0001')).toMatchObject({ value: '2001:db8::1:0:0:1' });
    expect(await api.list(name)).toEqual([{ name, type: 'AAAA', value: '2001:db8::1:0:0:1', ttl: 600 }]);
    expect(await resolverFor(runtime.dns.port).resolve6(name)).toEqual(['2001:db8::1:0:0:1']);
  });

  it('a record written before values were canonical is still deleted by its address', async () => {
    const name = `old.${base}`;
    // As the update API stored it before: only lower-cased, not compressed.
    await runtime.records.put({ name, type: 'AAAA', value: '2001:0db8:0:0::1', ttl: 600, owner: box.fingerprint, network: '127.0.0.1' }, Date.now());
    expect(await api.remove(name, { type: 'AAAA', value: '2001:db8::1' })).toEqual({ deleted: 1 });
    expect(await api.list(name)).toEqual([]);
  });

  it('another address, or an address of the other family, deletes nothing', async () => {
    const name = `keep.${base}`;
    await api.set(name, 'AAAA', '2001:db8::1');
    await api.set(`four.${base}`, 'A', '192.0.2.1');
    expect(await api.remove(name, { value: '2001:db8::2' })).toEqual({ deleted: 0 });
    // The IPv4-mapped address is not the IPv4 address of an A record.
    expect(await api.remove(`four.${base}`, { value: '::ffff:192.0.2.1' })).toEqual({ deleted: 0 });
    expect(await api.remove(`four.${base}`, { type: 'A', value: '192.0.2.1' })).toEqual({ deleted: 1 });
    expect(await resolverFor(runtime.dns.port).resolve6(name)).toEqual(['2001:db8::1']);
  });

  it('refuses an IPv6 address with a zone (%eth0): it means nothing to another machine, and was served as another address', async () => {
    const refused = await api.set(`zone.${base}`, 'AAAA', 'fe80::1%eth0').catch((error: unknown) => error as PairgateApiError);
    expect(refused).toMatchObject({ status: 400, code: 'invalid_ip' });
    expect((refused as PairgateApiError).message).toMatch(/zone/);
  });

  it('writes an IPv4-mapped address in mixed notation (RFC 5952 section 5), and any spelling of it names it', async () => {
    const name = `mapped.${base}`;
    expect(await api.set(name, 'AAAA', '::FFFF:C000:0201')).toMatchObject({ value: '::ffff:192.0.2.1' });
    expect(await api.list(name)).toEqual([{ name, type: 'AAAA', value: '::ffff:192.0.2.1', ttl: 600 }]);
    expect(await resolverFor(runtime.dns.port).resolve6(name)).toEqual(['::ffff:192.0.2.1']);
    expect(await api.remove(name, { type: 'AAAA', value: '::ffff:c000:201' })).toEqual({ deleted: 1 });
    await api.set(name, 'AAAA', '0:0:0:0:0:ffff:192.0.2.1');
    expect(await api.remove(name, { value: '::ffff:192.0.2.1' })).toEqual({ deleted: 1 });
    expect(await api.list(name)).toEqual([]);
  });

  it('keeps other addresses that embed an IPv4 address in hexadecimal (IPv4-compatible and IPv4-translated are deprecated, NAT64 may be either)', async () => {
    expect(await api.set(`compat.${base}`, 'AAAA', '::192.0.2.1')).toMatchObject({ value: '::c000:201' });
    expect(await api.set(`nat64.${base}`, 'AAAA', '64:ff9b::192.0.2.1')).toMatchObject({ value: '64:ff9b::c000:201' });
    // IPv4-translated (RFC 2765, obsoleted by RFC 6145 which dropped the prefix).
    expect(await api.set(`translated.${base}`, 'AAAA', '::ffff:0:192.0.2.1')).toMatchObject({ value: '::ffff:0:c000:201' });
    // The IPv4-mapped block's first addresses are still mapped ones.
    expect(await api.set(`low.${base}`, 'AAAA', '::ffff:0:1')).toMatchObject({ value: '::ffff:0.0.0.1' });
    expect(await api.remove(`nat64.${base}`, { value: '64:ff9b::192.0.2.1' })).toEqual({ deleted: 1 });
  });

  describe('rows written by older servers (no migration: values are read as addresses)', () => {
    /** Writes a row straight into the store, as an older server did, bypassing today's validation. */
    const oldRow = (name: string, type: 'A' | 'AAAA', value: string) =>
      runtime.records.put({ name, type, value, ttl: 600, owner: box.fingerprint, network: '127.0.0.1' }, Date.now());

    it.each([
      ['upper case, uncompressed', '2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      ['IPv4-mapped in hexadecimal, as the previous canonical form', '::ffff:c000:201', '::ffff:192.0.2.1'],
      ['with a zone, lower-cased and kept by the first servers', 'fe80::1%eth0', 'fe80::1'],
    ])('%s: listed, served over DNS and deleted as the address', async (_case, stored, address) => {
      const name = `old-${address.replace(/[:.]/g, '-')}.${base}`;
      await oldRow(name, 'AAAA', stored);
      expect(await api.list(name)).toEqual([{ name, type: 'AAAA', value: address, ttl: 600 }]);
      expect(await resolverFor(runtime.dns.port).resolve6(name)).toEqual([address]);
      expect(await api.remove(name, { type: 'AAAA', value: address })).toEqual({ deleted: 1 });
      expect(await api.list(name)).toEqual([]);
    });

    it('an old A row is served and deleted as before', async () => {
      const name = `old-four.${base}`;
      await oldRow(name, 'A', '192.0.2.7');
      expect(await resolverFor(runtime.dns.port).resolve4(name)).toEqual(['192.0.2.7']);
      expect(await api.remove(name, { value: '192.0.2.7' })).toEqual({ deleted: 1 });
    });
  });

  describe('mirror records compare addresses, not their spelling', () => {
    const mirrorsOf = async (stateFile: string) => {
      const mirrorBox = await newBox('mirror-spelling');
      return { mirrorBox, make: () => new MirrorRecords(updateClient(runtime, mirrorBox), { fingerprint: mirrorBox.fingerprint, zone: ZONE, stateFile }) };
    };
    const freshStateFile = () => join(mkdtempSync(join(tmpdir(), 'pairgate-mirror-spelling-')), 'mirror.json');

    it('the same address in another spelling is no change: the mirror stays, and the state keeps the canonical text', async () => {
      const stateFile = freshStateFile();
      const { mirrorBox, make } = await mirrorsOf(stateFile);
      const first = await make().publish('2001:db8::1');
      expect(first).toEqual({ name: `a.${mirrorBox.fingerprint}.${ZONE}`, changed: true });
      // Another run, the address read in another spelling (upper case, zeros written out).
      expect(await make().publish('2001:DB8:0:0:0:0:0:1')).toEqual({ name: first.name, changed: false });
      expect(await resolverFor(runtime.dns.port).resolve6(first.name)).toEqual(['2001:db8::1']);
      const mirror = make();
      expect(await mirror.publish('::FFFF:192.0.2.9')).toEqual({ name: `b.${mirrorBox.fingerprint}.${ZONE}`, changed: true });
      expect(JSON.parse(readFileSync(stateFile, 'utf8'))).toEqual({ ip: '::ffff:192.0.2.9', active: 1 });
      expect(await mirror.publish('::ffff:c000:209')).toEqual({ name: `b.${mirrorBox.fingerprint}.${ZONE}`, changed: false });
    });

    it('a state file written with another spelling of the current address does not move the mirror', async () => {
      const stateFile = freshStateFile();
      const { mirrorBox, make } = await mirrorsOf(stateFile);
      writeFileSync(stateFile, JSON.stringify({ ip: '2001:0DB8::0001', active: 1 }));
      const published = await make().publish('2001:db8::1');
      expect(published).toEqual({ name: `b.${mirrorBox.fingerprint}.${ZONE}`, changed: false });
      expect(await resolverFor(runtime.dns.port).resolve6(published.name)).toEqual(['2001:db8::1']);
      // A real change is still one.
      expect(await make().publish('2001:db8::2')).toEqual({ name: `a.${mirrorBox.fingerprint}.${ZONE}`, changed: true });
    });
  });
});
