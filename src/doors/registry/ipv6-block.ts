import { decode as decodeIp, encode as encodeIp } from '@leichtgewicht/ip-codec';
import { IPV6_NETWORK_BITS } from '../../server/public-network.js';

/**
 * Bits of the IPv6 block the registry caps boxes by, above the public network (a /64). A home or
 * office is given a /48 or a /56 and uses one /64 per LAN, so its boxes share one /48; a tunnel
 * broker hands anyone a /48 for free, whose 65,536 /64s each had a cap of their own.
 */
export const IPV6_BLOCK_BITS = 48;

const NETWORK_SUFFIX = `/${IPV6_NETWORK_BITS}`;

/**
 * The IPv6 /48 of public network `network` (what `publicNetworkOf` returns: `2001:db8:1:2::/64`
 * gives `2001:db8:1::/48`), or undefined for any other network (an IPv4 address, or a caller that
 * is no IP address): those have no second level. Working from the network rather than the address
 * keeps `publicNetworkOf`'s reading of ports, zones and IPv4-mapped addresses.
 */
export function ipv6BlockOfNetwork(network: string): string | undefined {
  if (!network.endsWith(NETWORK_SUFFIX)) return undefined;
  let bytes: Uint8Array;
  try {
    bytes = encodeIp(network.slice(0, -NETWORK_SUFFIX.length));
  } catch {
    return undefined;
  }
  if (bytes.length !== 16) return undefined;
  const masked = Buffer.from(bytes);
  masked.fill(0, IPV6_BLOCK_BITS / 8);
  return `${decodeIp(masked)}/${IPV6_BLOCK_BITS}`;
}
