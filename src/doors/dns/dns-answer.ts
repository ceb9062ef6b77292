import { isIPv4, isIPv6 } from 'node:net';
import dnsPacket, { type Answer, type Packet, type Question } from 'dns-packet';
import type { DnsRecord, DnsRecords } from './dns-records.js';
import { inZone, normaliseName, ownerOf } from './dns-names.js';
import { characterStrings } from './txt-strings.js';

/** How the zone answers: names, TTLs and where its records are. */
export interface ZoneSettings {
  zone: string;
  nameServers: string[];
  nameServerAddresses: string[];
  hostmaster: string;
  ttl: number;
  negativeTtl: number;
}

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
/** Largest UDP answer: 512 without EDNS, else the client's size capped at 1232 (DNS flag day 2020). */
const UDP_PLAIN = 512;
const UDP_EDNS_MAX = 1232;
/** Longest CNAME chain followed inside the zone. */
const MAX_CHAIN = 8;

/** A header-only answer (FORMERR, NOTIMP...) to a query whose id is known. */
function bareReply(id: number, flags: number, rcode: number): Buffer {
  const out = Buffer.alloc(12);
  out.writeUInt16BE(id, 0);
  out.writeUInt16BE(0x8000 | (flags & 0x7800) | (flags & 0x0100) | rcode, 2);
  return out;
}

/** The order in which an RRset is picked for a minimal ANY answer: the smallest kinds first. */
const ANY_PREFERENCE = ['CNAME', 'A', 'AAAA', 'TXT'];

/** The records of one type among `records` (RFC 8482 section 4.1), the first of ANY_PREFERENCE present. */
function oneRRset<T extends { type: string }>(records: T[]): T[] {
  const type = ANY_PREFERENCE.find((candidate) => records.some((record) => record.type === candidate));
  return records.filter((record) => record.type === type);
}

/**
 * Whether the first question's name is one this server can read as it was sent: printable ASCII
 * labels, none holding a dot, spelled on the wire as the decoded name encodes again (no
 * compression). dns-packet decodes a label's bytes as UTF-8 and joins labels with dots, so a label
 * "local.<fp>" read as two labels and was answered with that name's records, and bytes that are no
 * UTF-8 came back as U+FFFD in a question resolvers could not decode. Such a name holds no record
 * here: it is refused (FORMERR) rather than answered for another name.
 */
function plainQuestion(query: Buffer, packet: Packet): boolean {
  const question = packet.questions?.[0];
  if (question === undefined) return true;
  if (!/^[\x21-\x7e]*$/.test(question.name)) return false;
  // The name as dns-packet writes it: a header of 12 bytes, then the name, then type and class.
  const name = dnsPacket.encode({ id: 0, type: 'query', questions: [question] }).subarray(12, -4);
  return query.subarray(12, 12 + name.length).equals(name);
}

/**
 * Answers DNS queries for the zone from the durable records: SOA and NS at the apex; A, AAAA, CNAME
 * and TXT under `<fp>.<zone>` (CNAMEs inside the zone followed); NXDOMAIN with the SOA for names
 * that do not exist, NOERROR with the SOA for names without the asked type; REFUSED outside the
 * zone. Malformed input gets FORMERR when its header can be read, and no answer otherwise.
 */
export class DnsResponder {
  constructor(
    private readonly records: DnsRecords,
    private readonly settings: ZoneSettings,
    /** Told of unexpected failures (answered SERVFAIL), e.g. to log them. */
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  /** The wire answer to one wire query, or undefined when nothing should be sent. */
  async respond(query: Buffer, transport: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    if (query.length < 12) return undefined;
    const id = query.readUInt16BE(0);
    const flags = query.readUInt16BE(2);
    if (flags & 0x8000) return undefined; // a response: never answer it (no reflection loops)
    let packet: Packet;
    try {
      packet = dnsPacket.decode(query);
    } catch {
      return bareReply(id, flags, RCODE.FORMERR);
    }
    if (!plainQuestion(query, packet)) return bareReply(id, flags, RCODE.FORMERR);
    try {
      return await this.answer(packet, id, flags, transport);
    } catch (error) {
      // A name that decodes but cannot be encoded again, a store failure...: SERVFAIL, never silence.
      this.onError(error);
      return bareReply(id, flags, RCODE.SERVFAIL);
    }
  }

  private async answer(packet: Packet, id: number, flags: number, transport: 'udp' | 'tcp'): Promise<Buffer> {
    const opcode = (flags >> 11) & 0xf;
    if (opcode !== 0) return bareReply(id, flags, RCODE.NOTIMP);
    const questions = packet.questions ?? [];
    if (questions.length !== 1) return bareReply(id, flags, RCODE.FORMERR);
    const question = questions[0]!;
    const opts = (packet.additionals ?? []).filter((rr) => rr.type === 'OPT');
    // One OPT record at most, owned by the root (RFC 6891 6.1.1): any other is malformed.
    if (opts.length > 1 || (opts[0] && opts[0].name !== '.' && opts[0].name !== '')) return bareReply(id, flags, RCODE.FORMERR);
    const opt = opts[0] as { udpPayloadSize?: number; ednsVersion?: number } | undefined;
    if (opt && (opt.ednsVersion ?? 0) > 0) {
      // EDNS versions above 0 are not spoken: BADVERS (16, i.e. extended RCODE 1 over RCODE 0)
      // with our version, so the client falls back to version 0 (RFC 6891 6.1.3).
      return dnsPacket.encode({ id, type: 'response', flags: flags & dnsPacket.RECURSION_DESIRED, questions: [question], answers: [], authorities: [], additionals: [{ type: 'OPT', name: '.', udpPayloadSize: UDP_EDNS_MAX, extendedRcode: 1, ednsVersion: 0, flags: 0 } as unknown as Answer] });
    }
    const limit = transport === 'tcp' ? 65535 : opt ? Math.min(UDP_EDNS_MAX, Math.max(UDP_PLAIN, opt.udpPayloadSize ?? UDP_PLAIN)) : UDP_PLAIN;

    const result = await this.resolve(question, transport);
    const response: Packet = {
      id,
      type: 'response',
      flags: (result.authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | (flags & dnsPacket.RECURSION_DESIRED) | result.rcode,
      questions: [question],
      answers: result.answers,
      authorities: result.authorities,
      additionals: [...result.additionals, ...(opt ? [{ type: 'OPT', name: '.', udpPayloadSize: UDP_EDNS_MAX, flags: 0 } as Answer] : [])],
    };
    const optOnly = opt ? [{ type: 'OPT', name: '.', udpPayloadSize: UDP_EDNS_MAX, flags: 0 } as Answer] : [];
    let wire = dnsPacket.encode(response);
    if (wire.length > limit && result.additionals.length > 0) {
      // Glue is extra: an answer that fits without it goes without it, and without TC (RFC 2181
      // section 9). Truncating it cleared the NS answer itself, and sent every resolver asking
      // without EDNS over TCP for an answer that fitted in UDP.
      wire = dnsPacket.encode({ ...response, additionals: optOnly });
    }
    if (wire.length > limit) {
      // Too big for this transport: say so (TC) and let the client retry over TCP.
      wire = dnsPacket.encode({ ...response, flags: (response.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE, answers: [], authorities: [], additionals: optOnly });
    }
    return wire;
  }

  /** The zone's SOA, owned by `owner`: the question's own spelling when it asked for the apex. */
  private soa(serial: number, owner = this.settings.zone): Answer {
    const { nameServers, hostmaster, ttl, negativeTtl } = this.settings;
    return {
      type: 'SOA',
      name: owner,
      ttl: Math.min(ttl, negativeTtl),
      data: { mname: nameServers[0]!, rname: hostmaster, serial, refresh: 3600, retry: 600, expire: 604800, minimum: negativeTtl },
    } as Answer;
  }

  private toAnswer(asked: string, record: DnsRecord): Answer {
    // A TXT value as strings of at most 255 bytes each: dns-packet would write a longer one's
    // length into one byte, wrapped, and send a malformed packet (txt-strings.ts).
    const data = record.type === 'TXT' ? characterStrings(record.value) : record.value;
    return { type: record.type, name: asked, ttl: record.ttl, data } as Answer;
  }

  /**
   * The answer sections for one question. An ANY question over UDP gets one RRset of the name, not
   * all of them (RFC 8482 section 4.1): the apex's SOA, one name server's A (or AAAA) glue, one type
   * of a box's records. Answered in full, the apex's SOA, three NS and twelve glue records came
   * back about 19 times the query's size, to whatever source address the query claimed. Over TCP,
   * where the source cannot be spoofed, ANY is answered in full as before.
   */
  async resolve(question: Question, transport: 'udp' | 'tcp' = 'tcp'): Promise<{ rcode: number; authoritative: boolean; answers: Answer[]; authorities: Answer[]; additionals: Answer[] }> {
    const { zone, nameServers, nameServerAddresses, ttl } = this.settings;
    const name = normaliseName(question.name);
    const qtype = question.type as string;
    const minimalAny = qtype === 'ANY' && transport === 'udp';
    const none = { answers: [] as Answer[], authorities: [] as Answer[], additionals: [] as Answer[] };
    if ((question.class ?? 'IN') !== 'IN' && question.class !== 'ANY') return { rcode: RCODE.REFUSED, authoritative: false, ...none };
    if (!inZone(name, zone)) return { rcode: RCODE.REFUSED, authoritative: false, ...none };
    // Zone transfers are not offered (the zone is every box's records): REFUSED, as RFC 5936 2.2.1
    // asks, not an empty NOERROR that a secondary would take for a broken transfer.
    if (qtype === 'AXFR' || qtype === 'IXFR') return { rcode: RCODE.REFUSED, authoritative: false, ...none };
    const serial = await this.records.serial();
    const answers: Answer[] = [];
    const additionals: Answer[] = [];

    if (name === zone) {
      // Answers at the apex keep the question's case, as for every other name (RFC 4343).
      if (qtype === 'SOA' || qtype === 'ANY') answers.push(this.soa(serial, question.name));
      if (qtype === 'NS' || (qtype === 'ANY' && !minimalAny)) {
        for (const ns of nameServers) answers.push({ type: 'NS', name: question.name, ttl, data: ns } as Answer);
        for (const ns of nameServers.filter((n) => inZone(n, zone))) additionals.push(...this.glue(ns));
      }
      return { rcode: RCODE.NOERROR, authoritative: true, answers, authorities: answers.length ? [] : [this.soa(serial)], additionals };
    }
    if (nameServers.includes(name) && nameServerAddresses.length > 0) {
      // Under the question's spelling, as every answer to the name asked.
      const all = this.glue(question.name);
      const glue = minimalAny ? oneRRset(all) : all.filter((rr) => qtype === 'ANY' || rr.type === qtype);
      return { rcode: RCODE.NOERROR, authoritative: true, answers: glue, authorities: glue.length ? [] : [this.soa(serial)], additionals };
    }

    let current = name;
    let asked = question.name;
    // Whether the chain ended, inside the zone, at a name we are sure of: one that does not exist
    // (NXDOMAIN) or lacks the asked type (NODATA). Either way the answer carries the SOA so the
    // negative part is cached for the SOA's time (RFC 2308 2.1, 2.2), and the RCODE is that of
    // the last name (RFC 6604): a resolver given NOERROR and a bare CNAME to a name of this zone
    // would ask again for a name we already know is not there.
    let negative = false;
    for (let depth = 0; depth <= MAX_CHAIN; depth++) {
      const records = await this.recordsAt(current);
      if (records.length === 0) {
        const exists = await this.hasNamesUnder(current);
        return { rcode: exists ? RCODE.NOERROR : RCODE.NXDOMAIN, authoritative: true, answers, authorities: [this.soa(serial)], additionals: [] };
      }
      const cname = records.find((r) => r.type === 'CNAME');
      const matching = minimalAny ? oneRRset(records) : records.filter((r) => qtype === 'ANY' || r.type === qtype);
      if (matching.length > 0 || !cname) {
        answers.push(...matching.map((r) => this.toAnswer(asked, r)));
        negative = matching.length === 0;
        break;
      }
      answers.push(this.toAnswer(asked, cname));
      const target = normaliseName(cname.value);
      // Out of the zone the resolver continues on its own; the apex and the name servers are not
      // in the records (asked again, they are answered above); a loop, or a chain longer than we
      // follow, stops here with what we have.
      if (!inZone(target, zone) || target === zone || nameServers.includes(target) || answers.some((a) => normaliseName(a.name) === target)) break;
      current = target;
      asked = target;
    }
    return { rcode: RCODE.NOERROR, authoritative: true, answers, authorities: answers.length && !negative ? [] : [this.soa(serial)], additionals };
  }

  private glue(ns: string): Answer[] {
    return this.settings.nameServerAddresses.flatMap((address): Answer[] => {
      if (isIPv4(address)) return [{ type: 'A', name: ns, ttl: this.settings.ttl, data: address } as Answer];
      if (isIPv6(address)) return [{ type: 'AAAA', name: ns, ttl: this.settings.ttl, data: address } as Answer];
      return [];
    });
  }

  /**
   * An empty non-terminal (e.g. `<fp>.<zone>` when only `local.<fp>.<zone>` exists) exists: NOERROR,
   * not NXDOMAIN. So does a name above one of the zone's own name servers (`dns.<zone>` for
   * `ns1.dns.<zone>`, answered with its glue): NXDOMAIN there told resolvers that cut the tree at
   * an NXDOMAIN (RFC 8020) that the name server itself does not exist.
   */
  private async hasNamesUnder(name: string): Promise<boolean> {
    const { nameServers, nameServerAddresses } = this.settings;
    if (nameServerAddresses.length > 0 && nameServers.some((ns) => ns.endsWith(`.${name}`))) return true;
    const owner = ownerOf(name, this.settings.zone);
    if (owner === undefined) return false;
    return (await this.records.answering(owner)).some((r) => r.name.endsWith(`.${name}`));
  }

  /**
   * The records of `name` (a name of the zone other than the apex): those of the box whose
   * fingerprint it is under, where every record is (`DnsRecords.answering`); none elsewhere.
   */
  private async recordsAt(name: string): Promise<DnsRecord[]> {
    const owner = ownerOf(name, this.settings.zone);
    if (owner === undefined) return [];
    return (await this.records.answering(owner)).filter((r) => r.name === name);
  }

}
