import { Type, type Static } from 'typebox';

/** Wire schemas of the registry; the OpenAPI document is generated from them. */

const Fingerprint = Type.String({
  minLength: 40,
  maxLength: 52,
  pattern: '^([a-z2-7]{52}|[0-9a-f]{40})$',
  description: 'Box fingerprint: SHA-256 of the key (SPKI), base32 lower case, 52 characters (or the legacy 40-hex SHA-1 of the certificate where accepted).',
});
const Origin = Type.String({ maxLength: 500, pattern: '^https?://[^\\s<>"]+$', description: 'An http(s) origin.' });

/** Mozilla Project Link's announcement: `message` is opaque, usually JSON with local_origin and tunnel_origin. */
export const MozillaRegisterBody = Type.Object(
  {
    client: Fingerprint,
    message: Type.String({ maxLength: 2000, description: 'What browsers on the same network are told, usually JSON {"local_origin", "tunnel_origin"}.' }),
  },
  { additionalProperties: false },
);

/** The structured announcement. */
export const StructuredRegisterBody = Type.Object(
  {
    fingerprint: Fingerprint,
    local_origin: Origin,
    tunnel_origin: Type.Optional(Type.Union([Origin, Type.Null()])),
    name: Type.Optional(Type.String({ maxLength: 100, description: 'A name people recognise.' })),
  },
  { additionalProperties: false },
);

/** Either announcement form. */
export const RegisterBody = Type.Union([MozillaRegisterBody, StructuredRegisterBody]);
/** An announcement as received. */
export type RegisterBody = Static<typeof RegisterBody>;

/** The answer to a stored announcement. */
export const RegisteredView = Type.Object({ status: Type.Literal('registered') }, { description: 'The announcement is stored: browsers behind the same public IP find it at `GET /ping` until it expires.' });

/** A stored announcement, as /ping lists it. */
export const Announcement = Type.Object({
  public_ip: Type.String(),
  client: Type.String(),
  message: Type.String(),
  timestamp: Type.Integer({ description: 'When the box last announced, milliseconds since the epoch.' }),
});
/** A stored announcement. */
export type Announcement = Static<typeof Announcement>;

/** The answer of GET /ping. */
export const PingView = Type.Array(Announcement, { description: 'The live announcements of the boxes behind the caller\'s own public IP (IPv4 address or IPv6 /64), oldest announcement first; empty when there are none.' });

/**
 * The registry's error body (Mozilla's shape plus message and reason), described by `description`
 * (the machine codes, in `reason`, the answer carries at its status).
 */
export function registryError(description: string) {
  return Type.Object(
    { code: Type.Integer(), errno: Type.Integer(), error: Type.String(), message: Type.String(), reason: Type.String() },
    { additionalProperties: true, description },
  );
}

const SCHEMA_REFUSED = '`validation_failed` (the body does not match the schema, `client` is no box fingerprint, the box\'s name (the structured form\'s `name`, or the `name` of a JSON `message`) or a structured origin holds control, invisible or text-direction characters or more than three accents on one letter, or an origin a user name or password, or a structured origin is no URL that parses: a port past 65535, an IPv6 zone), `invalid_json`';

/** The documented error answers of `POST /register` (signed by the box key, or over mutual TLS). */
export const RegisterErrors = {
  400: registryError(`${SCHEMA_REFUSED}, \`legacy_fingerprint_disabled\` (a SHA-1 fingerprint where this registry takes none).`),
  401: registryError('`signature_missing`, `signature_invalid`, `signature_expired` (outside the allowed clock skew), `signature_replayed`, `body_mismatch` (the signature covers other bytes), `fingerprint_mismatch` (the key is not the box `client` names), `wrong_audience` (signed for another registry: its `aud` is not the origin of this registry); `client_key_too_weak` (an RSA key under 2048 bits), `client_key_unsupported` (a key no announcement can be signed with: EC keys other than P-256 and P-384, RSA-PSS, DSA, Ed448), for the JWS\'s key or the mutual-TLS certificate\'s; over mutual TLS `client_certificate_required`.'),
  429: registryError('`rate_limited`: too many announcements from this address (or, signed ones, from its IPv6 /48); `too_many_boxes`: this public network already lists PAIRGATE_REGISTRY_MAX_PER_IP boxes, or its IPv6 /48 PAIRGATE_REGISTRY_MAX_PER_IPV6_48 on all its /64s together (`Retry-After` says when the oldest announcement expires).'),
};

/** The documented error answer of `GET /ping`. */
export const PingErrors = {
  429: registryError('`rate_limited`: too many look-ups from this address.'),
};
