import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * Addresses inside a network rather than on the internet: loopback, private (RFC 1918, IPv6 unique
 * local), link-local (cloud metadata services sit at 169.254.169.254), shared (carrier-grade NAT),
 * unspecified, and the IPv4-mapped and IPv4-compatible forms of these.
 */
const INTERNAL = new BlockList();
for (const [network, prefix] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.168.0.0', 16]] as const) {
  INTERNAL.addSubnet(network, prefix, 'ipv4');
}
// ::/96 holds the unspecified and loopback addresses and the old IPv4-compatible form (::7f00:1).
for (const [network, prefix] of [['::', 96], ['fc00::', 7], ['fe80::', 10]] as const) INTERNAL.addSubnet(network, prefix, 'ipv6');

/**
 * Whether `hostname` (as a URL holds it: an IPv6 address in brackets) is an IP address inside a
 * network (`INTERNAL`). A name is never one here: where it points is for DNS to say, later and
 * elsewhere, and the relay resolves nothing.
 */
export function isInternalAddress(hostname: string): boolean {
  const address = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  if (isIPv4(address)) return INTERNAL.check(address, 'ipv4');
  if (!isIPv6(address)) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] ?? mappedFromHex(address);
  return mapped ? INTERNAL.check(mapped, 'ipv4') : INTERNAL.check(address, 'ipv6');
}

/** The IPv4 address of an IPv4-mapped IPv6 address written in hex (`::ffff:7f00:1`, as URLs write it). */
function mappedFromHex(address: string): string | undefined {
  const match = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (!match) return undefined;
  const high = parseInt(match[1]!, 16);
  const low = parseInt(match[2]!, 16);
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}
