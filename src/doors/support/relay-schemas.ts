import { Type } from 'typebox';

/** Wire schemas of the relay (the seed's pc-assist.app pairing directory). */

export const PublishBody = Type.Object(
  { url: Type.Optional(Type.String({ description: 'Absolute http(s) URL of the origin\'s pairing endpoint, e.g. https://origin/pairing.' })) },
  { additionalProperties: true },
);

export const PublishedView = Type.Object({
  success: Type.Literal(true),
  code: Type.String({ description: 'Six-character code to read out.' }),
  pairing_url: Type.String({ description: 'The relay URL of the code; it redirects (302) to redirect_url.' }),
  redirect_url: Type.String({ description: 'The origin URL of the code.' }),
  expires_in: Type.Integer({ description: 'Seconds until the code stops working here; added to the original answer, so an origin never says a code lives longer than the relay keeps it (seconds from now, so the two machines\' clocks need not agree).' }),
}, { description: 'The code, its relay URL and the origin URL it leads to.' });

export const RelayCodeParams = Type.Object({ code: Type.String({ minLength: 1, maxLength: 64 }) });
/** The language the page is asked in (`?lang=`, as its switch links), so its refusals before the route say so in it too. */
const PageLanguage = Type.Optional(Type.String({ maxLength: 5, description: 'The page\'s language (`en`, `fr`), when the person chose one: carried on to the origin\'s page.' }));
export const RelayPageQuery = Type.Object({ lang: PageLanguage });
/**
 * `code` is checked by the handler, not here: the schema's refusal (`querystring.code must NOT have
 * more than 64 characters`, or of an array when the address gives it twice) speaks of the query,
 * not of the code a person typed.
 */
export const RelayGoQuery = Type.Object({ code: Type.Optional(Type.Unknown({ description: 'The code typed in the page\'s form.' })), lang: PageLanguage });

/**
 * A relay error answer (`{success: false, error, code}`; at 429 `{success: false, message,
 * wait_seconds, code}`), described by `description`: the machine codes `code` carries at its status.
 */
export function relayError(description: string) {
  return Type.Object(
    { success: Type.Literal(false), error: Type.Optional(Type.String()), message: Type.Optional(Type.String()), wait_seconds: Type.Optional(Type.Number()), code: Type.String() },
    { additionalProperties: false, description },
  );
}

const CODE_REFUSED = '`code_wrong_length`, `code_bad_character` or `code_invalid`: this cannot be a code (`problem` says why)';

/** The documented error answers of the relay's routes. */
export const RelayErrors = {
  publish400: relayError('`url_missing`, `url_too_long`, `url_invalid` (not an absolute URL), `url_scheme` (not http or https), `url_not_https` (http without PAIRGATE_RELAY_ALLOW_HTTP), `url_credentials`, `url_query` (a query or fragment), `validation_failed`, `invalid_json`.'),
  publish401: relayError('`api_key_required`: this relay has PAIRGATE_RELAY_API_KEYS and the request sent none of them (`Authorization: Bearer <key>` or `X-API-Key`).'),
  publish403: relayError('`origin_not_allowed` (the url\'s host is not in PAIRGATE_RELAY_ALLOWED_HOSTS), `origin_internal_address` (an open relay sends no one to an address or name inside a network: loopback, private, link-local, reserved; localhost, .local), `cross_site_request` (a browser said the request comes from a page of another site: codes are published by programs).'),
  publish413: relayError('`payload_too_large`: the body is larger than PAIRGATE_RELAY_BODY_LIMIT.'),
  publish415: relayError('`unsupported_media_type`: the body is neither JSON nor a form.'),
  publish429: relayError('`rate_limited`: too many publications from this network (a publisher with an API key is not held to this rate), or PAIRGATE_RELAY_MAX_LIVE_CODES codes are live; `too_many_live_codes`: this network holds PAIRGATE_RELAY_MAX_LIVE_CODES_PER_IP live codes (a publisher with an API key is not counted) (`wait_seconds`, `Retry-After`).'),
  code400: relayError(`${CODE_REFUSED}; \`code_empty\`: the address has no code (\`/pairing/\`).`),
  code404: relayError('`code_not_found`: no live code is this one (it expired, or was mistyped).'),
  code429: relayError('`rate_limited`: too many look-ups, or too many wrong codes, from this network (`wait_seconds`, `Retry-After`).'),
};
