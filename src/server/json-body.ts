import type { FastifyInstance, FastifyRequest } from 'fastify';
import { InvalidRequestError } from '../core/errors.js';

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

/** Makes `app` read `application/json` bodies with `jsonBodyParser` (every door inherits it). */
export function installJsonBodyParser(app: FastifyInstance): void {
  const parse = jsonBodyParser(app);
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => parse(request, body as string, done));
}
