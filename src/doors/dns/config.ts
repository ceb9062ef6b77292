import { Type } from 'typebox';

/**
 * Configuration of the DNS door: pairgate's authoritative DNS server for one zone and the update
 * API (HTTPS with client certificates) boxes change their records through. Both run inside
 * `pairgate serve` when PAIRGATE_DNS_ZONE is set, and stop with it.
 */
export const dnsConfigSchema = Type.Object({
  PAIRGATE_DNS_ZONE: Type.String({
    default: '',
    // Any case, and an optional trailing dot: DNS names are case-insensitive (RFC 4343) and
    // `example.com.` is how zone files write them. The door uses the name lower case, without the dot.
    pattern: '^$|^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.?$',
    // Said in words where the pattern is refused: the regular expression told no one what to write.
    expected: 'a DNS name such as box.example.com (or nothing, to turn DNS off)',
    description: 'The zone pairgate is authoritative for (e.g. box.example.com; case and a trailing dot do not matter); boxes own <fingerprint>.<zone>. Empty = DNS server and update API off.',
  }),
  PAIRGATE_DNS_HOST: Type.String({ default: '127.0.0.1', description: 'Address the DNS server listens on (UDP and TCP); 0.0.0.0 for every interface.' }),
  PAIRGATE_DNS_PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 53, description: 'DNS port, UDP and TCP (53 in production; needs CAP_NET_BIND_SERVICE); 0 picks a free one.' }),
  PAIRGATE_DNS_NS: Type.String({ default: '', description: 'Comma-separated name servers of the zone (NS records, first = SOA MNAME); default ns1.<zone>.' }),
  PAIRGATE_DNS_NS_ADDRESSES: Type.String({ default: '', description: 'Comma-separated IPv4/IPv6 addresses answered for name servers inside the zone (glue).' }),
  PAIRGATE_DNS_HOSTMASTER: Type.String({ default: '', description: 'SOA RNAME, the zone\'s contact: an e-mail address without a dot before the @ (hostmaster@example.com) or the mailbox as a name (hostmaster.example.com); default hostmaster.<zone>.' }),
  PAIRGATE_DNS_TTL: Type.Integer({ minimum: 1, maximum: 604800, default: 600, description: 'TTL of records a box sets without one, and of NS records; the SOA gets the smaller of this and PAIRGATE_DNS_NEGATIVE_TTL, since resolvers cache a negative answer for the SOA TTL at most (RFC 2308).' }),
  PAIRGATE_DNS_MIN_TTL: Type.Integer({ minimum: 0, maximum: 86400, default: 30, description: 'Smallest TTL a box may set (mirror records use small ones).' }),
  PAIRGATE_DNS_NEGATIVE_TTL: Type.Integer({ minimum: 0, maximum: 86400, default: 60, description: 'How long resolvers cache NXDOMAIN and empty answers (SOA MINIMUM).' }),
  PAIRGATE_DNS_TCP_IDLE_SECONDS: Type.Integer({ minimum: 1, maximum: 300, default: 10, description: 'A DNS TCP connection idle this long, or whose query frame has not arrived whole this long after its first byte, is closed.' }),
  PAIRGATE_DNS_MAX_TCP_CONNECTIONS: Type.Integer({ minimum: 1, default: 256, description: 'Concurrent DNS TCP connections; more are closed at once. One source network (an IPv4 address or an IPv6 /64) may hold an eighth of them (at least 1).' }),
  PAIRGATE_DNS_UPDATE_MAX_CONNECTIONS: Type.Integer({ minimum: 1, default: 256, description: 'Concurrent connections to the update API. One source network (an IPv4 address or an IPv6 /64) may hold an eighth of them (at least 1); when all are taken, a newcomer takes the place of the oldest connection of the network holding the most, or of the one silent the longest when none holds more than one, else it is closed at once (logged at most once a minute).' }),
  PAIRGATE_DNS_UDP_PER_SECOND: Type.Integer({ minimum: 0, default: 200, description: 'UDP answers per source network (an IPv4 address or an IPv6 /64) per second; beyond it truncated answers send resolvers to TCP (0 = unlimited).' }),
  PAIRGATE_DNS_UDP_PER_BLOCK_PER_SECOND: Type.Integer({ minimum: 0, default: 1000, description: 'UDP answers per source /24 (IPv4) or /56 (IPv6) per second, whatever their size; beyond it as beyond PAIRGATE_DNS_UDP_PER_SECOND, so a spoofer spreading its queries over a victim\'s block gets no more than this (0 = unlimited).' }),
  PAIRGATE_DNS_UDP_LARGE_ANSWER_BYTES: Type.Integer({ minimum: 0, maximum: 65535, default: 512, description: 'A UDP answer longer than this many bytes counts toward PAIRGATE_DNS_UDP_LARGE_PER_SECOND (512: what fits a query without EDNS; answers up to 1232 bytes go over UDP with EDNS).' }),
  PAIRGATE_DNS_UDP_LARGE_PER_SECOND: Type.Integer({ minimum: 0, default: 10, description: 'UDP answers longer than PAIRGATE_DNS_UDP_LARGE_ANSWER_BYTES per source /24 (IPv4) or /56 (IPv6) per second; beyond it each such query gets its question back with TC set and no records, so a real resolver asks again over TCP and a spoofed victim gets no more bytes than were sent (0 = unlimited).' }),
  PAIRGATE_DNS_TCP_PER_SECOND: Type.Integer({ minimum: 0, default: 200, description: 'TCP queries answered per source network (an IPv4 address or an IPv6 /64) per second; beyond it that network\'s connections wait for the next second (0 = unlimited).' }),
  PAIRGATE_DNS_MAX_RECORDS_PER_BOX: Type.Integer({ minimum: 1, maximum: 10000, default: 64, description: 'Records one box may hold.' }),
  PAIRGATE_DNS_MAX_RECORDS_PER_IP: Type.Integer({ minimum: 1, default: 1024, description: 'Records the boxes writing from one client IP (an IPv4 address or an IPv6 /64) may hold in all: box keys are free to make, addresses are not.' }),
  PAIRGATE_DNS_RECORD_LIFETIME_DAYS: Type.Integer({ minimum: 0, maximum: 3650, default: 30, description: 'A record not written again (set, or set again unchanged) for this many days is removed by the door\'s sweep, so the records of boxes gone for good stop counting toward PAIRGATE_DNS_MAX_RECORDS_PER_IP; `pairgate box announce` writes its records again every 6 hours (0 = records never expire).' }),
  PAIRGATE_DNS_UPDATE_HOST: Type.String({ default: '127.0.0.1', description: 'Address the update API (HTTPS, client certificates) listens on.' }),
  PAIRGATE_DNS_UPDATE_PORT: Type.Integer({ minimum: -1, maximum: 65535, default: 8443, description: 'Port of the update API; 0 picks a free one; -1 = off.' }),
  PAIRGATE_DNS_UPDATE_TLS_CERT: Type.String({ default: '', description: 'PEM certificate (chain) of the update API; empty = a self-signed one kept in the data folder.' }),
  PAIRGATE_DNS_UPDATE_TLS_KEY: Type.String({ default: '', description: 'PEM private key of the update API (with PAIRGATE_DNS_UPDATE_TLS_CERT).' }),
  PAIRGATE_DNS_UPDATES_PER_MINUTE: Type.Integer({ minimum: 1, default: 120, description: 'Update API requests per client IP per minute (keys are free to make, addresses are not).' }),
});
