import { createSocket } from 'node:dgram';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DnsRuntime } from '../../../src/doors/dns/dns-door.js';
import type { BoxIdentity } from '../../../src/doors/registry/box-identity.js';
import type { TestApp } from '../../helpers/app.js';
import { createDnsApp, newBox, updateClient, ZONE } from './dns-helpers.js';

/** A raw query for A at the name made of `labels` (each label's bytes as given, never split at dots). */
function rawQuery(labels: (string | Buffer)[]): Buffer {
  const name = Buffer.concat([...labels.flatMap((label) => {
    const bytes = typeof label === 'string' ? Buffer.from(label, 'utf8') : label;
    return [Buffer.from([bytes.length]), bytes];
  }), Buffer.from([0])]);
  const header = Buffer.from([0x12, 0x34, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
  return Buffer.concat([header, name, Buffer.from([0x00, 0x01, 0x00, 0x01])]);
}

/** Sends `query` over UDP to `port`; the raw answer. */
async function ask(port: number, query: Buffer): Promise<Buffer> {
  const socket = createSocket('udp4');
  try {
    const answer = new Promise<Buffer>((resolve) => socket.once('message', resolve));
    socket.send(query, port, '127.0.0.1');
    return await answer;
  } finally {
    socket.close();
  }
}

const rcodeOf = (answer: Buffer) => answer.readUInt16BE(2) & 0xf;

describe('DNS: question names the server cannot read as sent', () => {
  let t: TestApp;
  let runtime: DnsRuntime;
  let box: BoxIdentity;
  const zoneLabels = ZONE.split('.');

  beforeAll(async () => {
    ({ t, runtime } = await createDnsApp());
    box = await newBox('names');
    await updateClient(runtime, box).set(`kiosk.${box.fingerprint}.${ZONE}`, 'A', '192.168.1.45');
  });
  afterAll(() => t?.close());

  it('the name itself, in any ASCII case, is answered, and the question comes back byte for byte', async () => {
    const query = rawQuery(['KiOsK', box.fingerprint.toUpperCase(), ...zoneLabels]);
    const answer = await ask(runtime.dns.port, query);
    expect(rcodeOf(answer)).toBe(0);
    expect(dnsPacket.decode(answer).answers?.map((a) => (a as { data?: unknown }).data)).toEqual(['192.168.1.45']);
    expect(answer.subarray(12, query.length).equals(query.subarray(12))).toBe(true);
  });

  it('U+212A KELVIN SIGN in place of k is another name, never answered with kiosk\'s records (FORMERR: no name here is spelled so)', async () => {
    const answer = await ask(runtime.dns.port, rawQuery(['\u212aiosk', box.fingerprint, ...zoneLabels]));
    expect(rcodeOf(answer)).toBe(1);
    expect(dnsPacket.decode(answer).answers ?? []).toEqual([]);
  });

  it('a label holding a dot ("kiosk.<fp>" as one label) is not read as two labels: FORMERR, no records', async () => {
    const answer = await ask(runtime.dns.port, rawQuery([`kiosk.${box.fingerprint}`, ...zoneLabels]));
    expect(rcodeOf(answer)).toBe(1);
    expect(answer.readUInt16BE(6)).toBe(0);
  });

  it('a label of bytes that are no UTF-8: FORMERR, in a reply resolvers can decode', async () => {
    const answer = await ask(runtime.dns.port, rawQuery([Buffer.alloc(20, 0xff), box.fingerprint, ...zoneLabels]));
    expect(rcodeOf(answer)).toBe(1);
    expect(() => dnsPacket.decode(answer)).not.toThrow();
  });
});
