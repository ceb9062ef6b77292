import ipaddr from 'ipaddr.js';

/**
 * Hosts inside a network rather than on the internet, for a relay open to the internet (which
 * sends no one there): IP addresses outside the public unicast ranges, however written, and the
 * special-use names every device resolves to itself or its own network without asking public DNS.
 *
 * An address counts as public only when ipaddr.js classes it `unicast`; every other range is
 * refused (loopback, private, link-local, carrier-grade NAT, unique local, multicast, broadcast,
 * unspecified, and the reserved, benchmarking and documentation ranges: 198.18.0.0/15, 240.0.0.0/4,
 * 2001:db8::/32...). An IPv6 address that carries an IPv4 one (mapped `::ffff:7f00:1`, compatible
 * `::7f00:1`, NAT64 `64:ff9b::7f00:1`, 6to4 `2002:7f00:1::`) is judged by the IPv4 address it
 * reaches: `[64:ff9b::7f00:1]` took a person to their own machine through their NAT64 gateway.
 */
export function isInternalAddress(hostname: string): boolean {
  const host = (hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname).toLowerCase();
  if (ipaddr.IPv4.isValidFourPartDecimal(host)) return ipaddr.IPv4.parse(host).range() !== 'unicast';
  if (ipaddr.IPv6.isValid(host)) return internalIpv6(ipaddr.IPv6.parse(host));
  return isInternalName(host);
}

/** The IPv4 address an IPv6 address carries where its range embeds one, else undefined. */
function embeddedIpv4(address: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const bytes = address.toByteArray();
  const range = address.range();
  // Mapped (::ffff:a.b.c.d), translated (::ffff:0:a.b.c.d), NAT64's well-known prefix (64:ff9b::/96),
  // and the old compatible form (::a.b.c.d): the last 32 bits.
  const lastFour = new ipaddr.IPv4(bytes.slice(12, 16));
  if (range === 'ipv4Mapped' || range === 'rfc6145') return lastFour;
  if (range === 'rfc6052' && address.match(ipaddr.IPv6.parse('64:ff9b::'), 96)) return lastFour;
  if (bytes.slice(0, 12).every((byte) => byte === 0)) return lastFour;
  // 6to4 (2002:AABB:CCDD::/48): the 32 bits after the prefix.
  if (range === '6to4') return new ipaddr.IPv4(bytes.slice(2, 6));
  return undefined;
}

function internalIpv6(address: ipaddr.IPv6): boolean {
  const carried = embeddedIpv4(address);
  if (carried) return carried.range() !== 'unicast';
  return address.range() !== 'unicast';
}

/**
 * Names that never reach public DNS, and the machine's own names in its hosts file: RFC 6761
 * `localhost`, RFC 6762 `.local`, RFC 8375 `home.arpa`, ICANN's `.internal`, and `.localdomain`
 * (with `localdomain4`, `localdomain6`), no TLD of the root, where Fedora's and RHEL's hosts file
 * puts loopback (`localhost.localdomain`, `localhost4.localdomain4`, `localhost6.localdomain6`)
 * and where a machine given no domain names itself; the suffixes home routers and company networks
 * give their machines that no registry delegates: `.lan` (OpenWrt's and many routers' default),
 * `.home`, `.corp` and `.mail` (which ICANN resolved in 2018 never to delegate, because internal
 * networks use them so widely), `.intranet` and `.private`; and one-label names (`intranet`,
 * `router`), which a person's machine completes with its own search domains. The relay resolves
 * no name, so a public name that resolves to an internal address (`127.0.0.1.nip.io`) still passes.
 */
const INTERNAL_SUFFIXES = [
  'localhost', 'local', 'internal', 'home.arpa', 'localdomain', 'localdomain4', 'localdomain6',
  'lan', 'home', 'corp', 'mail', 'intranet', 'private',
];

function isInternalName(name: string): boolean {
  const bare = name.replace(/\.$/, '');
  if (!bare.includes('.')) return true;
  return INTERNAL_SUFFIXES.some((suffix) => bare === suffix || bare.endsWith(`.${suffix}`));
}
