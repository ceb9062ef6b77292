import { ConfigError } from '../../core/errors.js';
import { Type } from 'typebox';

/** Configuration of the registry door (`POST /register`, `GET /ping`, the boxes page). */
export const registryConfigSchema = Type.Object({
  PAIRGATE_REGISTRY_ENABLED: Type.Boolean({ default: true, description: 'Serve the box registry (POST /register, GET /ping, /boxes).' }),
  PAIRGATE_REGISTRY_TTL_SECONDS: Type.Integer({ minimum: 10, maximum: 3600, default: 120, description: 'How long an announcement lives; keep it above the boxes\' re-announce interval (pairgate box announce --interval, 60 s by default), or boxes drop off the list between announcements.' }),
  PAIRGATE_REGISTRY_MAX_PER_IP: Type.Integer({ minimum: 1, maximum: 1000, default: 32, description: 'Boxes listed on one public network (an IPv4 address, or an IPv6 /64); announcements of further boxes are refused (429 too_many_boxes).' }),
  PAIRGATE_REGISTRY_REGISTER_PER_MINUTE: Type.Integer({ minimum: 1, default: 100, description: 'Signed announcements per client network per minute (requests without a signature count apart, as many again). Keep it above twice PAIRGATE_REGISTRY_MAX_PER_IP: each box announces once a minute and again when its address changes.' }),
  PAIRGATE_REGISTRY_MAX_PER_IPV6_48: Type.Integer({ minimum: 1, maximum: 4096, default: 256, description: 'Boxes listed on all the public networks (IPv6 /64s) of one IPv6 /48 together; announcements of further new boxes are refused (429 too_many_boxes). A home or office is given a /48 or /56 and uses one or a few /64s, one per LAN, while a tunnel broker gives anyone a /48 of 65,536 /64s. No effect on IPv4.' }),
  PAIRGATE_REGISTRY_REGISTER_PER_MINUTE_PER_IPV6_48: Type.Integer({ minimum: 1, default: 1000, description: 'Signed announcements per IPv6 /48 per minute, all its /64s together (each /64 also within PAIRGATE_REGISTRY_REGISTER_PER_MINUTE); beyond it 429 rate_limited. Keep it above twice PAIRGATE_REGISTRY_MAX_PER_IPV6_48. No effect on IPv4.' }),
  PAIRGATE_REGISTRY_PING_PER_MINUTE: Type.Integer({ minimum: 1, default: 120, description: 'GET /ping per client IP per minute.' }),
  PAIRGATE_REGISTRY_LEGACY_FINGERPRINT: Type.Boolean({
    default: false,
    description: 'Also accept the Project Link fingerprint (SHA-1 of the DER certificate, 40 hex); the JWS must then carry the certificate (x5c).',
  }),
  PAIRGATE_REGISTRY_PRIVATE: Type.Boolean({
    default: false,
    description: 'Privacy mode: /ping says only that a box is here and its registry-mediated name, never the local addresses it announced.',
  }),
  PAIRGATE_REGISTRY_MAX_CLOCK_SKEW_SECONDS: Type.Integer({ minimum: 5, maximum: 3600, default: 300, description: 'Accepted age and skew of the signed announcement (JWS iat).' }),
  PAIRGATE_REGISTRY_ORIGINS: Type.String({ default: '', description: 'Other origins boxes announce to, comma-separated: this registry under other names (https://registry.example.com). An announcement signed for any origin but these and PAIRGATE_PUBLIC_URL\'s is refused (401 wrong_audience) when PAIRGATE_PUBLIC_URL is set.' }),
});

/**
 * The origins an announcement may be signed for (its `aud`): PAIRGATE_PUBLIC_URL's and
 * PAIRGATE_REGISTRY_ORIGINS; none (any accepted) without a public URL, as the registry does not
 * know its own name then. Throws a ConfigError naming the key for an origin that is no http(s) URL.
 */
export function announceAudiences(publicUrl: string, extra: string): string[] | undefined {
  if (!publicUrl) return undefined;
  const origins = [new URL(publicUrl).origin];
  for (const item of extra.split(',').map((part) => part.trim()).filter(Boolean)) {
    let url: URL;
    try {
      url = new URL(item);
    } catch {
      throw new ConfigError('PAIRGATE_REGISTRY_ORIGINS', `"${item}" is not a URL: write each origin as https://name[:port]`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError('PAIRGATE_REGISTRY_ORIGINS', `"${item}" is not an http(s) origin`);
    origins.push(url.origin);
  }
  return origins;
}
