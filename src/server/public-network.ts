import { decode as decodeIp, encode as encodeIp } from '@leichtgewicht/ip-codec';
import { isIPv4, isIPv6 } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * The public network a caller is on: what every per-address limit and budget counts by, and how
 * the registry groups boxes and browsers. An IPv4 address whole (the home router's one address,
 * shared by everything behind it), an IPv6 address by its /64 prefix: a host on IPv6 is given a
 * whole /64 and may use any address in it, so counting by address would hand an attacker 2^64
 * budgets. Behind one IPv6 router every device has addresses of its own in the same /64, and
 * changes them (privacy addresses, RFC 8981), so keying by the whole address would almost never put
 * a browser with its box. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, what a dual-stack socket
 * reports for an IPv4 caller) is that IPv4 address.
 */

/** Bits of an IPv6 address that name the network (the rest names the interface). */
export const IPV6_NETWORK_BITS = 64;

/**
 * `203.0.113.9` for IPv4 (and `::ffff:203.0.113.9`), `2001:db8:1:2::/64` for any IPv6 address in
 * that /64; an address with a port (`203.0.113.9:51234`, `[2001:db8::1]:443`, as some proxies
 * forward it) is that address. Anything else that is not an IP address (a proxy's odd
 * X-Forwarded-For) is kept as given, so it still only matches itself.
 */
export function publicNetworkOf(ip: string): string {
  const bare = withoutPort(ip);
  // A zone (fe80::1%eth0) names the local interface, nothing public.
  const address = bare.includes('%') ? bare.slice(0, bare.indexOf('%')) : bare;
  if (isIPv4(address)) return address;
  if (!isIPv6(address)) return ip;
  const bytes = Buffer.from(encodeIp(address));
  const mapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (mapped) return decodeIp(bytes.subarray(12));
  bytes.fill(0, IPV6_NETWORK_BITS / 8);
  return `${decodeIp(bytes)}/${IPV6_NETWORK_BITS}`;
}

/** `[2001:db8::1]`, with or without `:port` after it. */
const BRACKETED = /^\[([^\]]+)\](?::\d{1,5})?$/;
/** `203.0.113.9:51234`. */
const IPV4_WITH_PORT = /^([\d.]+):\d{1,5}$/;

/**
 * The address of `ip` without the port some trusted proxies write after it in X-Forwarded-For
 * (Azure Application Gateway, IIS ARR: `203.0.113.9:51234`, `[2001:db8::1]:443`), which proxy-addr
 * hands on as it is. Kept, the port made every connection a network of its own: each new source
 * port a fresh budget for every per-address limit, and a box and a browser behind one router
 * never on the same network. Anything else is returned unchanged.
 */
function withoutPort(ip: string): string {
  const bracketed = BRACKETED.exec(ip);
  if (bracketed && isIPv6(bracketed[1]!.replace(/%.*$/, ''))) return bracketed[1]!;
  const withPort = IPV4_WITH_PORT.exec(ip);
  return withPort && isIPv4(withPort[1]!) ? withPort[1]! : ip;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** `publicNetworkOf(request.ip)`: the key of every per-address limit and budget. */
    readonly clientNetwork: string;
    /** `clientNetwork` once it has been worked out for this request (null before). */
    clientNetworkKnown: string | null;
  }
}

/**
 * The key counted for a request whose connection closed before its network was first asked for
 * (a hook awaited meanwhile): the socket no longer has an address. Nothing is answered to it; its
 * counts share this key rather than failing the request with a TypeError logged as unexpected.
 */
export const CLOSED_CONNECTION_NETWORK = 'closed-connection';

/** `publicNetworkOf(request.ip)`, or {@link CLOSED_CONNECTION_NETWORK} once the socket is gone. */
function networkOfRequest(request: FastifyRequest): string {
  const ip = request.ip as string | undefined;
  return ip === undefined ? CLOSED_CONNECTION_NETWORK : publicNetworkOf(ip);
}

/**
 * Gives every request its `clientNetwork`, worked out on first use and kept for the rest of the
 * request: the rate limit, the per-address caps and the code budgets each ask for it.
 */
export function decorateClientNetwork(app: FastifyInstance): void {
  // Declared up front (null), so every request object has the same shape.
  app.decorateRequest('clientNetworkKnown', null);
  app.decorateRequest('clientNetwork', {
    getter(this: FastifyRequest) {
      return (this.clientNetworkKnown ??= networkOfRequest(this));
    },
  });
}
