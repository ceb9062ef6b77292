import { isUtf8 } from 'node:buffer';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { InvalidRequestError, PairgateError } from '../core/errors.js';
import { hasLoneSurrogate } from '../core/lone-surrogate.js';

/**
 * JSON bodies. Fastify's parser (secure-json-parse) refuses a body holding a `__proto__` key, or a
 * `constructor` object with a `prototype` key (prototype poisoning: a handler merging such a body
 * into an object would change every object), but it discards why and reports the body as not
 * valid JSON, which sends a client looking for a syntax error that is not there. The parser here
 * is Fastify's own, with the same limits and checks, telling that refusal apart.
 */

/** A content-type parser's callback. */
type Done = (error: Error | null, body?: unknown) => void;

/** A JSON body parser: the text of the body in, the value (or the refusal) out through `done`. */
export type JsonBodyParser = (request: FastifyRequest, body: string, done: Done) => void;

/** The refusal of a body that holds a prototype key: 400 `body_forbidden_key`. */
export class ForbiddenKeyError extends InvalidRequestError {
  constructor() {
    super('The JSON body holds a "__proto__" key or a "constructor" object with a "prototype" key, which pairgate refuses (they could alter the objects that read them). Send the body without them.', undefined, 'body_forbidden_key');
  }
}

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
 * Whether `bytes` begin as a JSON text in UTF-16 or UTF-32 without a byte order mark: a JSON text
 * starts with an ASCII character, so in those encodings one of its first two bytes is zero (the
 * detection RFC 4627, section 3, described). Such bytes are valid UTF-8 (zero is a character), and
 * would otherwise be refused as malformed JSON, sending the client after a syntax error.
 */
function isWideUnicode(bytes: Buffer): boolean {
  return bytes.length >= 2 && (bytes[0] === 0 || bytes[1] === 0);
}

/** Whether `text` is JSON to the language's own parser: then only secure-json-parse's key checks refused it. */
function isPlainJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * `scope`'s default JSON parser (its poisoning settings, `error` unless set otherwise), whose
 * refusal of a valid JSON text for a prototype key is a ForbiddenKeyError rather than "not valid
 * JSON". For doors that parse JSON themselves (to keep the exact bytes, say).
 */
export function jsonBodyParser(scope: FastifyInstance): JsonBodyParser {
  const parse = scope.getDefaultJsonParser(scope.initialConfig.onProtoPoisoning ?? 'error', scope.initialConfig.onConstructorPoisoning ?? 'error');
  return (request, body, done) => {
    parse(request, body, (error: Error | null, value?: unknown) => {
      // The text parsed again only when refused: a valid body costs nothing more.
      if (error && (error as { code?: string }).code === 'FST_ERR_CTP_INVALID_JSON_BODY' && isPlainJson(body)) {
        done(new ForbiddenKeyError(), undefined);
        return;
      }
      done(error, value);
    });
  };
}

/**
 * Whether `value` (parsed JSON) holds a string or a key with a lone surrogate. Walked with a list,
 * not recursion: a body nested a hundred thousand deep is still only a body. For JSON read from
 * elsewhere too (a WebSocket's messages), which is as able to bring one in.
 */
export function holdsLoneSurrogate(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const next = pending.pop();
    if (typeof next === 'string') {
      if (hasLoneSurrogate(next)) return true;
    } else if (Array.isArray(next)) {
      // One by one, not spread: a spread passes each element as an argument, and an array of a
      // few hundred thousand (a body limit raised to megabytes) overflowed the stack.
      for (const item of next) pending.push(item);
    } else if (next !== null && typeof next === 'object') {
      for (const [key, field] of Object.entries(next)) {
        if (hasLoneSurrogate(key)) return true;
        pending.push(field);
      }
    }
  }
  return false;
}

/**
 * `done`, refusing a parsed value that holds a lone surrogate. UTF-8 bytes cannot hold one, but a
 * JSON escape can (`"\ud800"`), and SQLite stored it as bytes that read back as three U+FFFD: the
 * value kept was not the value sent, and longer than the length checked.
 */
function refusingLoneSurrogates(done: Done): Done {
  return (error, value) => {
    if (!error && holdsLoneSurrogate(value)) done(new BodyNotUtf8Error('jsonEscape'), undefined);
    else done(error, value);
  };
}

/**
 * Whether an empty body labelled JSON is read as no body: on a route whose body may be left out
 * (`config.optionalBody`), and on a DELETE that takes none, which many HTTP clients send with
 * their default `Content-Type: application/json` (a 400 "The JSON body is empty." there stopped
 * the delete). A route that needs a body still refuses an empty one.
 */
function takesNoBody(request: FastifyRequest): boolean {
  return request.routeOptions.config?.optionalBody === true || (request.method === 'DELETE' && !request.routeOptions.schema?.body);
}

/**
 * Registers `parse` for `application/json` bodies on `scope`: the body is read as bytes, refused
 * with BodyNotUtf8Error unless they are UTF-8 (not UTF-16 or UTF-32 either), and handed to `parse` as text;
 * a value holding a lone surrogate (from a `\u` escape) is refused the same way. Every JSON parser of
 * the server is registered through this, so no door stores a body's text with characters lost.
 */
export function addJsonContentTypeParser(scope: FastifyInstance, parse: JsonBodyParser, options: { bodyLimit?: number } = {}): void {
  scope.addContentTypeParser('application/json', { ...options, parseAs: 'buffer' }, (request, bytes, done) => {
    const encoded = contentEncodingRefusal(request);
    if (encoded) {
      done(encoded, undefined);
      return;
    }
    if ((bytes as Buffer).length === 0 && takesNoBody(request)) {
      done(null, undefined);
      return;
    }
    if (!isUtf8(bytes as Buffer) || isWideUnicode(bytes as Buffer)) {
      done(new BodyNotUtf8Error('json'), undefined);
      return;
    }
    const text = (bytes as Buffer).toString('utf8');
    // Only a body with an escape can hold a lone surrogate: the others are not walked.
    parse(request, text, text.includes('\\u') ? refusingLoneSurrogates(done) : done);
  });
}

/** Makes `app` read `application/json` bodies with `jsonBodyParser` (every door inherits it). */
export function installJsonBodyParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  addJsonContentTypeParser(app, jsonBodyParser(app));
}
