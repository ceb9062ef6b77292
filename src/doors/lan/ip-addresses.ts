import { decode as decodeIp, encode as encodeIp } from '@leichtgewicht/ip-codec';
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { networkInterfaces } from 'node:os';

/**
 * IP addresses as the lan door handles them: packing into the connection string, telling usable
 * unicast addresses from the rest, and knowing which of a peer's addresses sit in our own subnets.
 */

/** Tag bytes of the packed IP block: a family tag, then 4 or 16 address bytes. */
const TAG_V4 = 4;
const TAG_V6 = 6;

/** Most addresses one string may carry; more would only make the QR code unreadable. */
export const MAX_ADDRESSES = 8;

const notUnicast = new BlockList();
notUnicast.addSubnet('0.0.0.0', 8, 'ipv4');
notUnicast.addSubnet('224.0.0.0', 4, 'ipv4');
notUnicast.addSubnet('240.0.0.0', 4, 'ipv4');
notUnicast.addAddress('::', 'ipv6');
notUnicast.addSubnet('ff00::', 8, 'ipv6');

const privateRanges = new BlockList();
privateRanges.addSubnet('10.0.0.0', 8, 'ipv4');
privateRanges.addSubnet('172.16.0.0', 12, 'ipv4');
privateRanges.addSubnet('192.168.0.0', 16, 'ipv4');
privateRanges.addSubnet('fc00::', 7, 'ipv6');

/** Why `address` cannot be dialled, or undefined when it is a usable unicast IP address. */
export function unicastProblem(address: string): string | undefined {
  const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
  if (!family) return `"${address}" is not an IP address`;
  if (notUnicast.check(address, family)) return `${address} is not a unicast address`;
  return undefined;
}

/** True for private-range addresses (RFC 1918, IPv6 unique local): what stage 2 keeps. */
export function isPrivateAddress(address: string): boolean {
  if (isIPv4(address)) return privateRanges.check(address, 'ipv4');
  if (isIPv6(address)) return privateRanges.check(address, 'ipv6');
  return false;
}

/** Packs addresses into the binary IP block of the connection string. */
export function packAddresses(addresses: readonly string[]): Buffer {
  const parts: Buffer[] = [];
  for (const address of addresses) {
    const problem = unicastProblem(address);
    if (problem) throw new RangeError(problem);
    parts.push(Buffer.from([isIPv4(address) ? TAG_V4 : TAG_V6]), Buffer.from(encodeIp(address)));
  }
  return Buffer.concat(parts);
}

/** Unpacks the IP block; throws RangeError naming what is wrong. */
export function unpackAddresses(block: Uint8Array): string[] {
  const addresses: string[] = [];
  let offset = 0;
  while (offset < block.length) {
    const tag = block[offset]!;
    const size = tag === TAG_V4 ? 4 : tag === TAG_V6 ? 16 : 0;
    if (size === 0) throw new RangeError(`unknown address family tag ${tag}`);
    if (offset + 1 + size > block.length) throw new RangeError('the last address is cut short');
    const address = decodeIp(block, offset + 1, size);
    const problem = unicastProblem(address);
    if (problem) throw new RangeError(problem);
    addresses.push(address);
    offset += 1 + size;
    if (addresses.length > MAX_ADDRESSES) throw new RangeError(`more than ${MAX_ADDRESSES} addresses`);
  }
  return addresses;
}

/** The subnets of this machine's interfaces that are up, as a BlockList. */
export function ownSubnets(): BlockList {
  const list = new BlockList();
  for (const entries of Object.values(networkInterfaces())) {
    for (const entry of entries ?? []) {
      const prefix = Number(entry.cidr?.split('/')[1] ?? (entry.family === 'IPv4' ? 32 : 128));
      list.addSubnet(entry.address.split('%')[0]!, prefix, entry.family === 'IPv4' ? 'ipv4' : 'ipv6');
    }
  }
  return list;
}

/**
 * Splits a peer's addresses into those inside one of our own subnets (tried first) and the rest:
 * status-go found that a virtual adapter's address, outside every real subnet, made pairing fail.
 */
export function bySubnet(addresses: readonly string[], subnets: BlockList = ownSubnets()): { local: string[]; other: string[] } {
  const local: string[] = [];
  const other: string[] = [];
  for (const address of addresses) {
    (subnets.check(address, isIPv4(address) ? 'ipv4' : 'ipv6') ? local : other).push(address);
  }
  return { local, other };
}
