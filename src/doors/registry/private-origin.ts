import { normaliseName } from '../dns/dns-names.js';

/**
 * Whether `name` answers browsers now: it holds an A, AAAA or CNAME record in the zone. Privacy
 * mode gives `local.<fp>.<zone>` only then; given for a box that never published it (or has removed
 * it), browsers were sent to a name that does not resolve.
 */
export type NameResolves = (name: string) => Promise<boolean>;

/** The scheme and port a privacy origin is given with: the announced `local_origin`'s. */
interface OriginShape {
  scheme: 'https' | 'http';
  /** Empty for the scheme's default port, as an origin is written. */
  port: string;
}

/**
 * The scheme and port of the `local_origin` an announcement's message gives: a box serving plain
 * http on 8080 is reached at `http://local.<fp>.<zone>:8080`, not at https on 443, where nothing
 * answers. `https` on its default port when the message gives no http(s) origin (a message that is
 * not JSON, Mozilla's shape being opaque). The address itself is never kept.
 */
export function announcedOriginShape(message: string): OriginShape {
  const fallback: OriginShape = { scheme: 'https', port: '' };
  let origin: unknown;
  try {
    origin = (JSON.parse(message) as { local_origin?: unknown } | null)?.local_origin;
  } catch {
    return fallback;
  }
  if (typeof origin !== 'string') return fallback;
  try {
    const url = new URL(origin);
    // URL leaves `port` empty for the scheme's default, as an origin is written.
    if (url.protocol === 'https:') return { scheme: 'https', port: url.port };
    if (url.protocol === 'http:') return { scheme: 'http', port: url.port };
    return fallback;
  } catch {
    return fallback;
  }
}

/**
 * What privacy mode keeps of an announcement (`message`, as the box sent it): that a box is here,
 * and the registry-mediated origin `https://local.<fp>.<zone>[:port]`, with the scheme and port the
 * box announced (a box serving on 4443 was sent to 443), when that name resolves (`resolves`); else
 * `origin: null`, as without a DNS zone: nothing of the box's own address is ever given instead.
 */
export async function privateMessage(client: string, message: string, dnsZone: string, resolves: NameResolves | undefined): Promise<string> {
  // The zone as the DNS door serves it (PAIRGATE_DNS_ZONE may be written in any case, with a trailing dot).
  const zone = normaliseName(dnsZone);
  // A legacy (SHA-1, 40 hex) fingerprint owns no name in the zone.
  const name = zone && client.length === 52 ? `local.${client}.${zone}` : undefined;
  if (name === undefined || resolves === undefined || !(await resolves(name))) return JSON.stringify({ private: true, origin: null });
  const { scheme, port } = announcedOriginShape(message);
  return JSON.stringify({ private: true, origin: `${scheme}://${name}${port === '' ? '' : `:${port}`}` });
}
