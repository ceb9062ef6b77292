import { Type } from 'typebox';

/** Configuration of the registry door (`POST /register`, `GET /ping`, the boxes page). */
export const registryConfigSchema = Type.Object({
  PAIRGATE_REGISTRY_ENABLED: Type.Boolean({ default: true, description: 'Serve the box registry (POST /register, GET /ping, /boxes).' }),
  PAIRGATE_REGISTRY_TTL_SECONDS: Type.Integer({ minimum: 10, maximum: 3600, default: 120, description: 'How long an announcement lives; keep it above the boxes\' re-announce interval (pairgate box announce --interval, 60 s by default), or boxes drop off the list between announcements.' }),
  PAIRGATE_REGISTRY_MAX_PER_IP: Type.Integer({ minimum: 1, maximum: 1000, default: 32, description: 'Boxes listed on one public network (an IPv4 address, or an IPv6 /64); announcements of further boxes are refused (429 too_many_boxes).' }),
  PAIRGATE_REGISTRY_REGISTER_PER_MINUTE: Type.Integer({ minimum: 1, default: 30, description: 'Announcements per client IP per minute.' }),
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
});
