import { normaliseName } from '../dns/dns-names.js';

/**
 * Whether `name` answers browsers now: it holds an A, AAAA or CNAME record in the zone. Privacy
 * mode gives `local.<fp>.<zone>` only then; given for a box that never published it (or has removed
 * it), browsers were sent to a name that does not resolve.
 */
export type NameResolves = (name: string) => Promise<boolean>;

/**
 * The port of the https `local_origin` an announcement's message gives, or undefined: none given
 * (a message that is not JSON, Mozilla's shape being opaque), the default 443, or an http origin,
 * which says nothing of the port the box serves HTTPS on. The address itself is never kept.
 */
export function announcedHttpsPort(message: string): string | undefined {
  let origin: unknown;
  try {
    origin = (JSON.parse(message) as { local_origin?: unknown } | null)?.local_origin;
  } catch {
    return undefined;
  }
  if (typeof origin !== 'string') return undefined;
  try {
    const url = new URL(origin);
    // URL leaves `port` empty for the scheme's default, as an origin is written.
    return url.protocol === 'https:' && url.port !== '' ? url.port : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What privacy mode keeps of an announcement (`message`, as the box sent it): that a box is here,
 * and the registry-mediated origin `https://local.<fp>.<zone>[:port]`, with the port the box
 * announced (a box serving on 4443 was sent to 443), when that name resolves (`resolves`); else
 * `origin: null`, as without a DNS zone: nothing of the box's own address is ever given instead.
 */
export async function privateMessage(client: string, message: string, dnsZone: string, resolves: NameResolves | undefined): Promise<string> {
  // The zone as the DNS door serves it (PAIRGATE_DNS_ZONE may be written in any case, with a trailing dot).
  const zone = normaliseName(dnsZone);
  // A legacy (SHA-1, 40 hex) fingerprint owns no name in the zone.
  const name = zone && client.length === 52 ? `local.${client}.${zone}` : undefined;
  if (name === undefined || resolves === undefined || !(await resolves(name))) return JSON.stringify({ private: true, origin: null });
  const port = announcedHttpsPort(message);
  return JSON.stringify({ private: true, origin: `https://${name}${port === undefined ? '' : `:${port}`}` });
}
