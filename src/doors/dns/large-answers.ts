import { decode as decodeIp, encode as encodeIp } from '@leichtgewicht/ip-codec';
import { isIPv4, isIPv6 } from 'node:net';

/**
 * The second limit of the DNS server's response rate limiting: UDP answers larger than a size, per
 * source block. The first (PAIRGATE_DNS_UDP_PER_SECOND, per IPv4 address or IPv6 /64) still let a
 * spoofed victim receive 200 answers a second of up to 1232 bytes, each built from a box's own TXT
 * records in answer to a query of a tenth of that: a box's owner could point the server at anyone.
 * Large answers are what an amplifier is wanted for, so they get a much lower limit, counted over a
 * wider block (as response rate limiting does, BIND's and NSD's alike: an IPv4 /24, an IPv6 /56,
 * one customer's whole allocation), and beyond it each query is answered with its question alone
 * and TC set: no larger than the query was, so worthless to a spoofer, while a real resolver asks
 * again over TCP, which a spoofed source cannot (BIND's `slip 1`). Dropping instead would leave
 * real resolvers behind a busy block unanswered.
 */

/** Prefix lengths of the block large answers are counted by. */
export const LARGE_ANSWER_IPV4_PREFIX = 24;
export const LARGE_ANSWER_IPV6_PREFIX = 56;

/**
 * The block `address` is counted in: `192.0.2.0/24`, `2001:db8:1:200::/56`; an IPv4-mapped IPv6
 * address (`::ffff:192.0.2.7`, from a dual-stack socket) in its IPv4 /24. Anything else is kept as
 * it is, so it only matches itself.
 */
export function largeAnswerBlockOf(address: string): string {
  const ip = address.includes('%') ? address.slice(0, address.indexOf('%')) : address;
  if (!isIPv4(ip) && !isIPv6(ip)) return address;
  let bytes = Buffer.from(encodeIp(ip));
  if (bytes.length === 16 && bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) bytes = bytes.subarray(12);
  const bits = bytes.length === 4 ? LARGE_ANSWER_IPV4_PREFIX : LARGE_ANSWER_IPV6_PREFIX;
  const masked = Buffer.from(bytes);
  masked.fill(0, bits / 8);
  return `${decodeIp(masked)}/${bits}`;
}

/** Type of the EDNS OPT pseudo-record (RFC 6891). */
const OPT = 41;

/**
 * `answer` (a whole wire answer) cut down to its header and question with TC set, keeping an empty
 * OPT record when it ends with one (RFC 6891 6.1.1: an answer to an EDNS query carries OPT); no
 * records. Undefined when its question cannot be read (never so for the DnsResponder's answers).
 * Its length is at most the query's: the same header and question, and an OPT no longer than the
 * query's own.
 */
export function truncatedAnswer(answer: Buffer): Buffer | undefined {
  if (answer.length < 12) return undefined;
  const questions = answer.readUInt16BE(4);
  if (questions > 1) return undefined;
  let end = 12;
  if (questions === 1) {
    // The first name of a message cannot point back (there is nothing before it), but a pointer
    // ends a name in two bytes all the same.
    for (;;) {
      const length = answer[end];
      if (length === undefined) return undefined;
      if ((length & 0xc0) === 0xc0) {
        end += 2;
        break;
      }
      if (length > 63) return undefined;
      end += 1 + length;
      if (length === 0) break;
    }
    end += 4; // QTYPE, QCLASS
    if (end > answer.length) return undefined;
  }
  // An OPT record without options, as the DnsResponder writes it, is the answer's last 11 bytes:
  // the root name, type 41, payload size, extended RCODE and flags, and a zero RDLENGTH.
  const tail = answer.subarray(answer.length - 11);
  const opt = answer.readUInt16BE(10) > 0 && answer.length - 11 >= end && tail[0] === 0 && tail.readUInt16BE(1) === OPT && tail.readUInt16BE(9) === 0;
  const truncated = Buffer.concat([answer.subarray(0, end), opt ? tail : Buffer.alloc(0)]);
  truncated[2] = truncated[2]! | 0x02; // TC
  truncated.writeUInt16BE(0, 6); // ANCOUNT
  truncated.writeUInt16BE(0, 8); // NSCOUNT
  truncated.writeUInt16BE(opt ? 1 : 0, 10); // ARCOUNT
  return truncated;
}

/**
 * The answer a query past the per-network UDP rate gets every second time (BIND's `slip`): its own
 * header and question with QR and TC set, no records, no OPT; never longer than the query. Earlier
 * it was the bare 12-byte header, which carries no question, and resolvers that match an answer to
 * their question by it (Unbound, for one) threw it away instead of retrying over TCP. Undefined
 * for what is not a query; the bare header where the question cannot be read.
 */
export function slipAnswer(query: Buffer): Buffer | undefined {
  if (query.length < 12 || query[2]! & 0x80) return undefined;
  const asAnswer = Buffer.from(query);
  // QR and TC; the query's opcode and RD kept; AA, RA, Z, the checking bits and RCODE cleared.
  asAnswer.writeUInt16BE(0x8000 | 0x0200 | (query.readUInt16BE(2) & 0x7900), 2);
  // Not the query's own OPT: it states the client's payload size and options, not this server's.
  asAnswer.writeUInt16BE(0, 10);
  const withQuestion = truncatedAnswer(asAnswer);
  if (withQuestion) return withQuestion;
  const bare = asAnswer.subarray(0, 12);
  bare.fill(0, 4);
  return bare;
}
