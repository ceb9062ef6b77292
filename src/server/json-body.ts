import { isUtf8 } from 'node:buffer';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { InvalidRequestError } from '../core/errors.js';
import { BodyNotUtf8Error, charsetRefusal, contentEncodingRefusal } from './body-refusals.js';
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
 * with UnsupportedCharsetError when declared in another charset, with BodyNotUtf8Error unless they are UTF-8 (not UTF-16 or UTF-32 either), and handed to `parse` as text;
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
    // After the empty body read as none: no characters, nothing read in the wrong charset.
    const charset = charsetRefusal(request);
    if (charset) {
      done(charset, undefined);
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
