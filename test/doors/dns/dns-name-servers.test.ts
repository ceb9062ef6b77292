import { createSocket } from 'node:dgram';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DnsRuntime } from '../../../src/doors/dns/dns-door.js';
import type { TestApp } from '../../helpers/app.js';
import { createDnsApp, ZONE } from './dns-helpers.js';

/** A record of a decoded answer, as these tests read it. */
interface DecodedRecord {
  type: string;
  name: string;
  data?: unknown;
}
/** A decoded answer with the fields dns-packet decodes but does not type. */
interface Reply {
  rcode: string;
  flag_tc: boolean;
  flag_aa: boolean;
  answers: DecodedRecord[];
  authorities: DecodedRecord[];
  additionals: DecodedRecord[];
}

/** One query over UDP (with EDNS when `udpPayloadSize` is given), its answer decoded with its size. */
async function askUdp(port: number, name: string, type: dnsPacket.RecordType, udpPayloadSize?: number): Promise<{ reply: Reply; size: number }> {
  const socket = createSocket('udp4');
  try {
    const answer = new Promise<Buffer>((resolve) => socket.once('message', resolve));
    const additionals = udpPayloadSize === undefined ? [] : [{ type: 'OPT', name: '.', udpPayloadSize, flags: 0 } as dnsPacket.Answer];
    socket.send(dnsPacket.encode({ id: 4321, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }], additionals }), port, '127.0.0.1');
    const wire = await answer;
    return { reply: dnsPacket.decode(wire) as unknown as Reply, size: wire.length };
  } finally {
    socket.close();
  }
}

const NAME_SERVERS = ['ns1', 'ns2', 'ns3'].map((label) => `${label}.dns.${ZONE}`);

describe('DNS: the zone\'s own name servers under a name of their own (ns1.dns.<zone>)', () => {
  let t: TestApp;
  let runtime: DnsRuntime;
  beforeAll(async () => {
    // Four addresses for each of three name servers: the glue (about 550 bytes) does not fit in
    // 512 bytes beside the NS answer, which alone does.
    ({ t, runtime } = await createDnsApp({ PAIRGATE_DNS_NS: NAME_SERVERS.join(','), PAIRGATE_DNS_NS_ADDRESSES: '192.0.2.53,192.0.2.54,2001:db8::53,2001:db8::54' }));
  });
  afterAll(() => t.close());

  it('answers the name above them as an empty non-terminal (NODATA), not NXDOMAIN', async () => {
    const { reply } = await askUdp(runtime.dns.port, `DNS.${ZONE}`, 'A', 1232);
    // NXDOMAIN here says no name under dns.<zone> exists, ns1.dns.<zone> included (RFC 8020): a
    // resolver cutting the tree there could no longer find the zone's name servers.
    expect(reply.rcode).toBe('NOERROR');
    expect(reply.flag_aa).toBe(true);
    expect(reply.answers).toEqual([]);
    expect(reply.authorities.map((rr) => [rr.type, rr.name])).toEqual([['SOA', ZONE]]);
    // The name servers themselves, and names that do not exist under that name, as before.
    expect((await askUdp(runtime.dns.port, NAME_SERVERS[0]!, 'A', 1232)).reply.answers.map((rr) => rr.data)).toEqual(['192.0.2.53', '192.0.2.54']);
    expect((await askUdp(runtime.dns.port, `x.dns.${ZONE}`, 'A', 1232)).reply.rcode).toBe('NXDOMAIN');
    expect((await askUdp(runtime.dns.port, `ns1.${ZONE}`, 'A', 1232)).reply.rcode).toBe('NXDOMAIN');
  });

  it('sends the NS answer without its glue, not truncated, when only the glue does not fit (RFC 2181 section 9)', async () => {
    const { reply, size } = await askUdp(runtime.dns.port, ZONE, 'NS');
    expect(size).toBeLessThanOrEqual(512);
    expect(reply.flag_tc).toBe(false);
    expect(reply.rcode).toBe('NOERROR');
    expect(reply.answers.map((rr) => rr.data)).toEqual(NAME_SERVERS);
    // With EDNS the whole answer fits, glue included.
    const whole = await askUdp(runtime.dns.port, ZONE, 'NS', 1232);
    expect(whole.reply.flag_tc).toBe(false);
    expect(whole.reply.additionals.filter((rr) => rr.type !== 'OPT')).toHaveLength(12);
    expect(whole.reply.additionals.filter((rr) => rr.type === 'OPT')).toHaveLength(1);
  });
});
