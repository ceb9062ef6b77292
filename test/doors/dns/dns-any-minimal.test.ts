import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DnsRuntime } from '../../../src/doors/dns/dns-door.js';
import type { TestApp } from '../../helpers/app.js';
import { createDnsApp, newBox, updateClient, ZONE } from './dns-helpers.js';

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
  answers: DecodedRecord[];
  additionals: DecodedRecord[];
}

/** A question's type: dns-packet's RecordType lacks ANY, which it encodes all the same. */
type QType = dnsPacket.RecordType | 'ANY';

/** An ANY (or other) query with EDNS (1232 bytes), as an amplifier's spoofed query would be. */
const query = (name: string, type: QType): Buffer =>
  dnsPacket.encode({ id: 77, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: type as dnsPacket.RecordType, name }], additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0 } as dnsPacket.Answer] });

/** One query over UDP, its answer decoded with the sizes of both. */
async function askUdp(port: number, name: string, type: QType): Promise<{ reply: Reply; sent: number; received: number }> {
  const socket = createSocket('udp4');
  try {
    const answer = new Promise<Buffer>((resolve) => socket.once('message', resolve));
    const wire = query(name, type);
    socket.send(wire, port, '127.0.0.1');
    const got = await answer;
    return { reply: dnsPacket.decode(got) as unknown as Reply, sent: wire.length, received: got.length };
  } finally {
    socket.close();
  }
}

/** One query over TCP (a length-prefixed frame), its answer decoded. */
function askTcp(port: number, name: string, type: QType): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
        socket.destroy();
        resolve(dnsPacket.decode(received.subarray(2, 2 + received.readUInt16BE(0))) as unknown as Reply);
      }
    });
    socket.on('connect', () => socket.write(dnsPacket.streamEncode({ id: 78, type: 'query', questions: [{ type: type as dnsPacket.RecordType, name }] })));
  });
}

const NAME_SERVERS = ['ns1', 'ns2', 'ns3'].map((label) => `${label}.${ZONE}`);
const without = (records: DecodedRecord[], type: string) => records.filter((rr) => rr.type !== type);

describe('DNS: ANY over UDP gets one RRset, not every record of the name (RFC 8482)', () => {
  let t: TestApp;
  let runtime: DnsRuntime;
  let base: string;
  beforeAll(async () => {
    // Three name servers in the zone with four addresses each: the set-up the review measured,
    // where ANY at the apex came back about 19 times the query's size.
    ({ t, runtime } = await createDnsApp({ PAIRGATE_DNS_NS: NAME_SERVERS.join(','), PAIRGATE_DNS_NS_ADDRESSES: '192.0.2.53,192.0.2.54,2001:db8::53,2001:db8::54' }));
    const box = await newBox('any');
    base = `${box.fingerprint}.${ZONE}`;
    const api = updateClient(runtime, box);
    await api.set(`local.${base}`, 'TXT', 'written first');
    await api.set(`local.${base}`, 'A', '192.168.1.20');
    await api.set(`local.${base}`, 'AAAA', 'fd00::20');
  });
  afterAll(() => t.close());

  it('answers ANY at the apex with the SOA alone: no NS, no glue, an answer about the query\'s size', async () => {
    const { reply, sent, received } = await askUdp(runtime.dns.port, ZONE, 'ANY');
    expect(reply.rcode).toBe('NOERROR');
    expect(reply.flag_tc).toBe(false);
    expect(reply.answers.map((rr) => rr.type)).toEqual(['SOA']);
    expect(without(reply.additionals, 'OPT')).toEqual([]);
    expect(received / sent).toBeLessThan(4);
    // Asked for NS, the same server still gives every name server and its glue.
    const ns = await askUdp(runtime.dns.port, ZONE, 'NS');
    expect(ns.reply.answers.map((rr) => rr.data)).toEqual(NAME_SERVERS);
    expect(without(ns.reply.additionals, 'OPT')).toHaveLength(12);
  });

  it('answers ANY at a box\'s name and at a name server with one type of record', async () => {
    const local = await askUdp(runtime.dns.port, `local.${base}`, 'ANY');
    expect(local.reply.answers.map((rr) => [rr.type, rr.data])).toEqual([['A', '192.168.1.20']]);
    const ns = await askUdp(runtime.dns.port, NAME_SERVERS[0]!, 'ANY');
    expect(ns.reply.answers.map((rr) => [rr.type, rr.data])).toEqual([['A', '192.0.2.53'], ['A', '192.0.2.54']]);
    // Names that do not exist are NXDOMAIN as for any other type.
    expect((await askUdp(runtime.dns.port, `nothing.${base}`, 'ANY')).reply.rcode).toBe('NXDOMAIN');
  });

  it('answers ANY over TCP in full, where the source address cannot be spoofed', async () => {
    const apex = await askTcp(runtime.dns.port, ZONE, 'ANY');
    expect(apex.answers.map((rr) => rr.type)).toEqual(['SOA', 'NS', 'NS', 'NS']);
    expect(apex.additionals).toHaveLength(12);
    const local = await askTcp(runtime.dns.port, `local.${base}`, 'ANY');
    expect(local.answers.map((rr) => rr.type).sort()).toEqual(['A', 'AAAA', 'TXT']);
  });
});
