import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { DnsResponder } from '../../../src/doors/dns/dns-answer.js';
import type { DnsRecords } from '../../../src/doors/dns/dns-records.js';

const settings = { zone: 'z.test', nameServers: ['ns1.z.test'], nameServerAddresses: ['192.0.2.53', '2001:db8::53'], hostmaster: 'hostmaster.z.test', ttl: 600, negativeTtl: 60 };
const query = (name: string, type: string, extra: Partial<dnsPacket.Packet> = {}) =>
  Buffer.from(dnsPacket.encode({ type: 'query', id: 77, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: type as 'A', name }], ...extra }));

describe('DnsResponder', () => {
  it('a failing store gives SERVFAIL with the query id, and the failure is reported', async () => {
    const failures: unknown[] = [];
    const broken = { serial: async () => 1, answering: async () => { throw new Error('database down'); } } as unknown as DnsRecords;
    const answer = await new DnsResponder(broken, settings, (e) => failures.push(e)).respond(query(`local.${'a'.repeat(52)}.z.test`, 'A'), 'udp');
    expect(answer!.readUInt16BE(0)).toBe(77);
    expect(answer!.readUInt16BE(2) & 0xf).toBe(2);
    expect(failures).toHaveLength(1);
  });

  it('answers NS with glue for name servers in the zone, and echoes EDNS', async () => {
    const empty = { serial: async () => 5, answering: async () => [] } as unknown as DnsRecords;
    const responder = new DnsResponder(empty, settings);
    const ns = dnsPacket.decode((await responder.respond(query('z.test', 'NS', { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096 } as dnsPacket.Answer] }), 'udp'))!);
    expect(ns.answers?.map((a: any) => a.data)).toEqual(['ns1.z.test']);
    expect(ns.additionals?.map((a) => `${a.type} ${String((a as { data?: unknown }).data ?? '')}`)).toEqual(['A 192.0.2.53', 'AAAA 2001:db8::53', 'OPT ']);
    expect(ns.flag_aa).toBe(true);
    const glue = dnsPacket.decode((await responder.respond(query('ns1.z.test', 'A'), 'udp'))!);
    expect(glue.answers?.map((a: any) => a.data)).toEqual(['192.0.2.53']);
  });
});
