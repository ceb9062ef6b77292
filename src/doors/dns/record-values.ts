import { isIPv4, isIPv6 } from 'node:net';
import { v6 } from '@leichtgewicht/ip-codec';
import { normaliseName } from './dns-names.js';
import type { RecordType } from './dns-records.js';

/**
 * The canonical text of an A or AAAA value, or undefined when `value` is not an address of that
 * type. IPv4 needs nothing: `isIPv4` takes only dotted decimal without leading zeros, which has one
 * spelling. IPv6 has many (`2001:0DB8:0:0::1` is `2001:db8::1`), so it is written the RFC 5952
 * way, through the same codec dns-packet uses to put it on the wire. A zone (`fe80::1%eth0`) is not
 * an address: it names an interface of the machine that wrote it, and the codec reads it as other
 * bits.
 */
export function canonicalAddress(type: 'A' | 'AAAA', value: string): string | undefined {
  if (type === 'A') return isIPv4(value) ? value : undefined;
  if (!isIPv6(value) || value.includes('%')) return undefined;
  return v6.decode(v6.encode(value));
}

/**
 * Whether a stored record holds `asked`, a value given to delete it. Addresses are compared as
 * addresses, so any spelling of one names it, and so do rows written before values were stored
 * canonical; a CNAME is stored as a name (lower case, no final dot) and shown with its dot by `box
 * dns list`, so either spelling, in any case, names it; TXT is compared exactly.
 */
export function holdsValue(record: { type: RecordType; value: string }, asked: string): boolean {
  if (record.value === asked) return true;
  switch (record.type) {
    case 'A':
    case 'AAAA': {
      const wanted = canonicalAddress(record.type, asked);
      return wanted !== undefined && wanted === canonicalAddress(record.type, record.value);
    }
    case 'CNAME':
      return record.value === normaliseName(asked);
    case 'TXT':
      return false;
  }
}
