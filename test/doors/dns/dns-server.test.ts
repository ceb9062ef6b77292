import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import dnsPacket from 'dns-packet';
import { promisify } from 'node:util';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoxIdentity } from '../../../src/doors/registry/box-identity.js';
import type { DnsRuntime } from '../../../src/doors/dns/dns-door.js';
import { missingProgram } from '../../helpers/system.js';
import type { TestApp } from '../../helpers/app.js';
import { createDnsApp, newBox, resolverFor, updateClient, ZONE } from './dns-helpers.js';

async function errorCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? String(error);
  }
}

/** A decoded answer with its RCODE, which dns-packet decodes but does not type. */
type Reply = dnsPacket.DecodedPacket & { rcode: string };

/** One raw query over UDP to our server, its answer decoded. */
async function askUdp(port: number, query: dnsPacket.Packet | Buffer): Promise<Reply> {
  const socket = createSocket('udp4');
  try {
    const reply = new Promise<Buffer>((resolve) => socket.once('message', resolve));
    socket.send(Buffer.isBuffer(query) ? query : dnsPacket.encode(query), port, '127.0.0.1');
    return dnsPacket.decode(await reply) as Reply;
  } finally {
    socket.close();
  }
}

describe('authoritative DNS server (node:dns Resolver against our port)', () => {
  let t: TestApp;
  let runtime: DnsRuntime;
  let box: BoxIdentity;
  let base: string;
  beforeAll(async () => {
    ({ t, runtime } = await createDnsApp());
    box = await newBox('dns');
    base = `${box.fingerprint}.${ZONE}`;
    const api = updateClient(runtime, box);
    await api.set(`local.${base}`, 'A', '192.168.1.20');
    await api.set(`local.${base}`, 'AAAA', 'FD00::20');
    await api.set(`a.${base}`, 'A', '192.168.1.20', 60);
    await api.set(`_acme-challenge.local.${base}`, 'TXT', 'challenge-one');
    await api.set(`_acme-challenge.local.${base}`, 'TXT', 'challenge-two');
    await api.set(`www.${base}`, 'CNAME', `local.${base}`);
  });
  afterAll(() => t.close());

  it('answers A, AAAA, TXT and CNAME under <fp>.<zone> with their TTLs', async () => {
    const resolver = resolverFor(runtime.dns.port);
    expect(await resolver.resolve4(`local.${base}`, { ttl: true })).toEqual([{ address: '192.168.1.20', ttl: 600 }]);
    expect(await resolver.resolve4(`a.${base}`, { ttl: true })).toEqual([{ address: '192.168.1.20', ttl: 60 }]);
    expect(await resolver.resolve6(`local.${base}`)).toEqual(['fd00::20']);
    expect((await resolver.resolveTxt(`_acme-challenge.local.${base}`)).map((chunks) => chunks.join('')).sort()).toEqual(['challenge-one', 'challenge-two']);
    expect(await resolver.resolveCname(`www.${base}`)).toEqual([`local.${base}`]);
    // An A question on the CNAME name follows the chain inside the zone.
    expect(await resolver.resolve4(`www.${base}`)).toEqual(['192.168.1.20']);
    // Case does not matter.
    expect(await resolver.resolve4(`LOCAL.${base.toUpperCase()}`)).toEqual(['192.168.1.20']);
  });

  it('answers SOA and NS at the apex', async () => {
    const resolver = resolverFor(runtime.dns.port);
    const soa = await resolver.resolveSoa(ZONE);
    expect(soa).toMatchObject({ nsname: `ns1.${ZONE}`, hostmaster: `hostmaster.${ZONE}`, minttl: 60 });
    expect(soa.serial).toBeGreaterThan(1_700_000_000);
    expect(await resolver.resolveNs(ZONE)).toEqual([`ns1.${ZONE}`]);
  });

  it('NXDOMAIN for unknown names, NODATA for names without the type, REFUSED outside the zone', async () => {
    const resolver = resolverFor(runtime.dns.port);
    expect(await errorCode(resolver.resolve4(`nothing.${base}`))).toBe('ENOTFOUND');
    expect(await errorCode(resolver.resolve4(`x.${ZONE}`))).toBe('ENOTFOUND');
    expect(await errorCode(resolver.resolveTxt(`local.${base}`))).toBe('ENODATA');
    // <fp>.<zone> holds no record but names exist under it: an empty non-terminal, not NXDOMAIN.
    expect(await errorCode(resolver.resolve4(base))).toBe('ENODATA');
    expect(await errorCode(resolver.resolve4('example.com'))).toBe('EREFUSED');
  });

  it('dig sees the same over UDP and TCP, with the SOA in the authority section of NXDOMAIN', async (context) => {
    const skip = missingProgram('dig', 'checking DNS answers with a real resolver client');
    if (skip) return context.skip(skip);
    // Asynchronous: the server answers from this same process.
    const dig = async (...args: string[]) => (await promisify(execFile)('dig', ['@127.0.0.1', '-p', String(runtime.dns.port), '+time=2', '+tries=1', ...args], { encoding: 'utf8' })).stdout;
    expect((await dig('+short', `local.${base}`, 'A')).trim()).toBe('192.168.1.20');
    expect((await dig('+short', '+tcp', `local.${base}`, 'AAAA')).trim()).toBe('fd00::20');
    const nx = await dig('+norecurse', `missing.${base}`, 'A');
    expect(nx).toMatch(/status: NXDOMAIN/);
    expect(nx).toMatch(/flags: qr aa/);
    expect(nx).toMatch(new RegExp(`AUTHORITY SECTION:\\n${ZONE.replace(/\./g, '\\.')}\\.\\s+60\\s+IN\\s+SOA\\s+ns1\\.${ZONE.replace(/\./g, '\\.')}\\.`));
    const soa = await dig('+tcp', ZONE, 'SOA');
    expect(soa).toMatch(/status: NOERROR/);
    expect(await dig('+short', `_acme-challenge.local.${base}`, 'TXT')).toContain('"challenge-one"');
  });

  it('a CNAME chain ending in the zone at a missing name is NXDOMAIN, at a name without the type NODATA, both with the CNAME and the SOA', async () => {
    const api = updateClient(runtime, box);
    await api.set(`dangling.${base}`, 'CNAME', `gone.${base}`);
    await api.set(`outside.${base}`, 'CNAME', 'example.org');
    const ask = (name: string, type: string) => askUdp(runtime.dns.port, { type: 'query', id: 9, questions: [{ type: type as 'A', name }] });
    const summary = (packet: Reply) => ({
      rcode: packet.rcode,
      aa: packet.flag_aa,
      answers: packet.answers!.map((a) => `${a.name} ${a.type} ${String((a as { data: unknown }).data)}`),
      authorities: packet.authorities!.map((a) => `${a.name} ${a.type} ${(a as { ttl?: number }).ttl}`),
    });
    // The target is a name of this zone that does not exist: its RCODE, and the SOA so the
    // resolver caches the negative answer (RFC 2308, RFC 6604).
    expect(summary(await ask(`dangling.${base}`, 'A'))).toEqual({
      rcode: 'NXDOMAIN',
      aa: true,
      answers: [`dangling.${base} CNAME gone.${base}`],
      authorities: [`${ZONE} SOA 60`],
    });
    // The target exists but has no TXT: NOERROR, the CNAME, and the SOA (NODATA).
    expect(summary(await ask(`www.${base}`, 'TXT'))).toEqual({
      rcode: 'NOERROR',
      aa: true,
      answers: [`www.${base} CNAME local.${base}`],
      authorities: [`${ZONE} SOA 60`],
    });
    // Followed to the end, nothing negative: no SOA.
    expect(summary(await ask(`www.${base}`, 'A'))).toEqual({
      rcode: 'NOERROR',
      aa: true,
      answers: [`www.${base} CNAME local.${base}`, `local.${base} A 192.168.1.20`],
      authorities: [],
    });
    // A target outside the zone is the resolver's to follow: the CNAME alone.
    expect(summary(await ask(`outside.${base}`, 'A'))).toEqual({
      rcode: 'NOERROR',
      aa: true,
      answers: [`outside.${base} CNAME example.org`],
      authorities: [],
    });
  });

  it('refuses zone transfers (AXFR, IXFR) and answers an EDNS version it does not speak with BADVERS', async () => {
    for (const type of ['AXFR', 'IXFR']) {
      const transfer = await askUdp(runtime.dns.port, { type: 'query', id: 3, questions: [{ type: type as 'A', name: ZONE }] });
      expect({ type, rcode: transfer.rcode, answers: transfer.answers!.length, authorities: transfer.authorities!.length }).toEqual({ type, rcode: 'REFUSED', answers: 0, authorities: 0 });
    }
    const future = await askUdp(runtime.dns.port, {
      type: 'query', id: 4, questions: [{ type: 'A', name: `local.${base}` }],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, ednsVersion: 1, flags: 0 } as unknown as dnsPacket.Answer],
    });
    const opt = future.additionals!.find((rr) => rr.type === 'OPT') as unknown as { extendedRcode: number; ednsVersion: number };
    // BADVERS is 16: extended RCODE 1 above a header RCODE of 0; the server's version is 0.
    expect({ rcode: future.rcode, extended: opt.extendedRcode, version: opt.ednsVersion, answers: future.answers!.length }).toEqual({ rcode: 'NOERROR', extended: 1, version: 0, answers: 0 });
    // Version 0 is answered as usual.
    const current = await askUdp(runtime.dns.port, {
      type: 'query', id: 5, questions: [{ type: 'A', name: `local.${base}` }],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0 } as unknown as dnsPacket.Answer],
    });
    expect(current.answers!.map((a) => (a as { data: unknown }).data)).toEqual(['192.168.1.20']);
    // Two OPT records, or one owned by another name than the root, are malformed (RFC 6891 6.1.1).
    const asking = (additionals: object[]) => dnsPacket.encode({ type: 'query', id: 6, questions: [{ type: 'A', name: `local.${base}` }], additionals: additionals as dnsPacket.Answer[] });
    const twice = asking([{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0 }, { type: 'OPT', name: '.', udpPayloadSize: 512, flags: 0 }]);
    // dns-packet writes an OPT for the root only: its owner (the last record's first byte, 0) made the label "x".
    const rooted = asking([{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0 }]);
    const owned = Buffer.concat([rooted.subarray(0, rooted.length - 11), Buffer.from([1, 0x78, 0]), rooted.subarray(rooted.length - 10)]);
    for (const query of [twice, owned]) {
      const malformed = await askUdp(runtime.dns.port, query);
      expect({ rcode: malformed.rcode, answers: malformed.answers!.length }).toEqual({ rcode: 'FORMERR', answers: 0 });
    }
  });

  it('records are durable: a restarted server answers them', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-dns-durable-'));
    const first = await createDnsApp({ PAIRGATE_DATA_DIR: dataDir });
    const other = await newBox('durable');
    await updateClient(first.runtime, other).set(`local.${other.fingerprint}.${ZONE}`, 'A', '10.1.2.3');
    await first.t.close();
    const second = await createDnsApp({ PAIRGATE_DATA_DIR: dataDir });
    try {
      expect(await resolverFor(second.runtime.dns.port).resolve4(`local.${other.fingerprint}.${ZONE}`)).toEqual(['10.1.2.3']);
    } finally {
      await second.t.close();
    }
  });

  it('a DNS port in use stops start-up with a message naming the key', async () => {
    await expect(createDnsApp({ PAIRGATE_DNS_PORT: String(runtime.dns.port) })).rejects.toThrow(/^cannot listen on 127\.0\.0\.1:\d+ for DNS \(UDP and TCP\): another program already does .* choose another port with PAIRGATE_DNS_PORT \(0 picks a free one\)\.$/);
  });
});
