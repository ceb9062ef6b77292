import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoxIdentity } from '../../../src/doors/registry/box-identity.js';
import type { DnsRuntime } from '../../../src/doors/dns/dns-door.js';
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
});
