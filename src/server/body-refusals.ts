import type { FastifyRequest } from 'fastify';
import { InvalidRequestError, PairgateError } from '../core/errors.js';

/**
 * The refusals every body parser shares (JSON, forms, multipart fields): bytes that are not UTF-8,
 * and a body sent content-encoded.
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
