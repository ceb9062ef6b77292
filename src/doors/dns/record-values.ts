import { isIPv4, isIPv6 } from 'node:net';
import { v4, v6 } from '@leichtgewicht/ip-codec';
import { normaliseName } from './dns-names.js';
import type { RecordType } from './dns-records.js';

/** The first 12 bytes of an IPv4-mapped IPv6 address, `::ffff:0:0/96` (RFC 4291 section 2.5.5.2). */
const IPV4_MAPPED_PREFIX = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);

/**
 * The RFC 5952 text of 16 address bytes. The codec writes every address in hexadecimal; an
 * IPv4-mapped one is written with its IPv4 address in dotted decimal (`::ffff:192.0.2.1`), as RFC
 * 5952 section 5 recommends and as Go's netip and inet_ntop write it, so the address a person
 * recognises is the one listed. Other addresses embedding IPv4 stay hexadecimal: IPv4-compatible
 * ones (`::/96`) are deprecated (RFC 4291 section 2.5.5.1) and share their prefix with `::1` and
 * its neighbours, and a NAT64 prefix (RFC 6052) allows either spelling, so one is enough.
 */
function ipv6Text(bytes: Uint8Array): string {
  if (IPV4_MAPPED_PREFIX.equals(bytes.subarray(0, 12))) return `::ffff:${v4.decode(bytes.subarray(12))}`;
  return v6.decode(bytes);
}

/**
 * The canonical text of an A or AAAA value, or undefined when `value` is not an address of that
 * type. IPv4 needs nothing: `isIPv4` takes only dotted decimal without leading zeros, which has one
 * spelling. IPv6 has many (`2001:0DB8:0:0::1` is `2001:db8::1`), so it is written the RFC 5952
 * way (`ipv6Text`), read by the same codec dns-packet uses to put it on the wire. A zone
 * (`fe80::1%eth0`) is not an address: it names an interface of the machine that wrote it, and the
 * codec reads it as other bits.
 */
export function canonicalAddress(type: 'A' | 'AAAA', value: string): string | undefined {
  if (type === 'A') return isIPv4(value) ? value : undefined;
  if (!isIPv6(value) || value.includes('%')) return undefined;
  return ipv6Text(v6.encode(value));
}

/**
 * The canonical text of an A or AAAA value as stored, or undefined when it holds no address. Rows
 * written before values were canonical hold other spellings (zeros written out, and `::ffff:c000:201`
 * for what is now `::ffff:192.0.2.1`), and the first servers kept an IPv6 zone (`fe80::1%eth0`),
 * which dns-packet served as another address (`fe80::fe10`): the address is the part before the
 * zone. Reading them this way serves, lists and compares old rows as new ones, with no migration.
 */
export function storedAddress(type: 'A' | 'AAAA', value: string): string | undefined {
  const zone = type === 'AAAA' ? value.indexOf('%') : -1;
  return canonicalAddress(type, zone === -1 ? value : value.slice(0, zone));
}

/**
 * A stored value as it is served and listed: an address in its canonical text (`storedAddress`),
 * anything else as stored (names and TXT were always stored as they are shown).
 */
export function readValue(type: RecordType, value: string): string {
  if (type !== 'A' && type !== 'AAAA') return value;
  return storedAddress(type, value) ?? value;
}

/**
 * Whether a stored record holds `asked`, a value given to delete it. Addresses are compared as
 * addresses, so any spelling of one names it, and so do rows written before values were stored
 * canonical (`storedAddress`); a CNAME is stored as a name (lower case, no final dot) and shown with its dot by `box
 * dns list`, so either spelling, in any case, names it; TXT is compared exactly.
 */
export function holdsValue(record: { type: RecordType; value: string }, asked: string): boolean {
  if (record.value === asked) return true;
  switch (record.type) {
    case 'A':
    case 'AAAA': {
      const wanted = canonicalAddress(record.type, asked);
      return wanted !== undefined && wanted === storedAddress(record.type, record.value);
    }
    case 'CNAME':
      return record.value === normaliseName(asked);
    case 'TXT':
      return false;
  }
}

/**
 * Whether two addresses (IPv4 or IPv6, any spelling) are the same address; two texts that are not
 * addresses are the same when equal. An IPv4 address is never its IPv4-mapped IPv6 address: they
 * go in records of different types.
 */
export function sameAddress(a: string, b: string): boolean {
  if (a === b) return true;
  const canonical = (value: string) => canonicalAddress(isIPv6(value) ? 'AAAA' : 'A', value);
  const left = canonical(a);
  return left !== undefined && left === canonical(b);
}
