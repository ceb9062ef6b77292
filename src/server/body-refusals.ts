import type { FastifyRequest } from 'fastify';
import { InvalidRequestError, PairgateError } from '../core/errors.js';

/**
 * The refusals every body parser shares (JSON, forms, multipart fields): bytes that are not UTF-8,
 * a body declared in another charset, and a body sent content-encoded.
 */

/** What a body that is not UTF-8 is told, by its media. */
const BODY_NOT_UTF8_MESSAGES = {
  json: 'The JSON body is not valid UTF-8, the encoding JSON is sent in (RFC 8259); UTF-16 and UTF-32 are not accepted. Encode the body as UTF-8 and send it again.',
  form: 'The form body is not valid UTF-8. Percent-encode the UTF-8 bytes of each field, as browsers do, and send it again.',
  jsonEscape: 'The JSON body holds a \\u escape of half a surrogate pair on its own (such as "\\ud800" with no low half after it), which is no character and cannot be stored as text. Send each character whole: as UTF-8, or as both halves of its pair (such as "\\ud83d\\ude00").',
  multipart: 'A field of the multipart form is not valid UTF-8, and its part declares no other charset. Send each field as UTF-8 text, as browsers and curl -F on a UTF-8 terminal do (or declare its charset, such as "Content-Type: text/plain; charset=ISO-8859-1"), and send it again.',
} as const;

/**
 * The refusal of a body whose bytes are not UTF-8 (JSON, a form, a multipart field that declares no
 * other charset): 400 `body_not_utf8`. JSON between systems is UTF-8 (RFC 8259, section 8.1); read
 * as UTF-8 anyway, a body in Latin-1 had each accented letter replaced by U+FFFD and was stored so,
 * a label shown to the approver as "caf\uFFFD".
 */
export class BodyNotUtf8Error extends InvalidRequestError {
  /** `kind`: the body's media, named in the message with the encoding it needs. */
  constructor(kind: keyof typeof BODY_NOT_UTF8_MESSAGES = 'json') {
    super(BODY_NOT_UTF8_MESSAGES[kind], undefined, 'body_not_utf8');
  }
}

/**
 * 415 `unsupported_content_encoding`: a body sent compressed (`Content-Encoding: gzip`, ...). The
 * server reads bodies as sent; a compressed one was parsed as if it were not (RFC 9110 §8.4 asks
 * for a 415), so a form of gzip bytes was read as one odd field.
 */
export class ContentEncodingError extends PairgateError {
  constructor(encoding: string) {
    super('unsupported_content_encoding', 415, `This server reads request bodies as sent, not encoded with "${encoding.slice(0, 40)}": send the body without a Content-Encoding header (or with identity).`);
  }
}

/** The ContentEncodingError for a request whose body is content-encoded, else undefined. */
export function contentEncodingRefusal(request: FastifyRequest): ContentEncodingError | undefined {
  const encoding = request.headers['content-encoding'];
  if (encoding === undefined) return undefined;
  const value = encoding.trim().toLowerCase();
  return value === '' || value === 'identity' ? undefined : new ContentEncodingError(encoding);
}

/**
 * The labels of UTF-8 a `charset` parameter may carry (compared in lower case): its IANA name and
 * the WHATWG Encoding Standard's common alias, which browsers and HTTP libraries also accept.
 */
const UTF8_LABELS = new Set(['utf-8', 'utf8']);

/**
 * 415 `unsupported_charset`: a JSON or form body declared in a charset other than UTF-8
 * (`Content-Type: application/json; charset=utf-16`, `...; charset=latin1`). The server reads
 * bodies as UTF-8 only; read so anyway, a body in another charset whose bytes happen to be valid
 * UTF-8 (the Latin-1 bytes of "Ã©" read as "é") was stored as other text than the client meant,
 * with no word. A media type the server does not take is a 415 (RFC 9110 §15.5.16), the charset
 * being part of it.
 */
export class UnsupportedCharsetError extends PairgateError {
  constructor(charset: string) {
    super('unsupported_charset', 415, `This server reads request bodies as UTF-8 only, not "${charset.slice(0, 40)}": encode the body as UTF-8 and send it with "charset=utf-8" or no charset parameter.`);
  }
}

/**
 * The values of the `charset` parameters of a Content-Type header (each a token, or a quoted
 * string with its backslash escapes undone), in order; none when it has none. A header may name
 * more than one, which no standard orders (RFC 9110 §5.6.6), and readers differ on which counts.
 */
export function charsetsOf(contentType: string): string[] {
  return [...contentType.matchAll(/;\s*charset\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/gi)]
    .map((match) => (match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : match[2] ?? ''));
}

/**
 * The UnsupportedCharsetError for a request whose body is declared in a charset other than UTF-8,
 * else undefined. Every `charset` parameter must name UTF-8: only the first was read, so
 * `charset=utf-8; charset=latin1` was taken, a body that a proxy or a logger reading the last
 * would decode otherwise.
 */
export function charsetRefusal(request: FastifyRequest): UnsupportedCharsetError | undefined {
  const contentType = request.headers['content-type'];
  // Most bodies declare no charset: the header is searched only when it mentions one.
  if (contentType === undefined || !/charset/i.test(contentType)) return undefined;
  const other = charsetsOf(contentType).find((charset) => !UTF8_LABELS.has(charset.trim().toLowerCase()));
  return other === undefined ? undefined : new UnsupportedCharsetError(other);
}
