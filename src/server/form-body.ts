import { isUtf8 } from 'node:buffer';
import type { FastifyInstance } from 'fastify';
import { BodyNotUtf8Error, charsetRefusal, contentEncodingRefusal } from './body-refusals.js';
import { formBody } from './request-validation.js';
import { escapesAreUtf8, parseForm } from './url-encoded.js';

/** The media type of HTML forms' bodies (and of OAuth's token requests). */
export const FORM_MEDIA_TYPE = 'application/x-www-form-urlencoded';

/**
 * Registers the parser of form bodies on `scope`: the body is read as bytes, refused with
 * UnsupportedCharsetError when declared in a charset other than UTF-8, with BodyNotUtf8Error unless its bytes and its percent-escapes are UTF-8, parsed (parseForm) and
 * marked as form text (`formBody`), so that its fields are converted to the schema's types.
 * Browsers percent-encode every byte outside ASCII, so raw bytes come only from hand-made clients;
 * read as text (as @fastify/formbody, which this replaces, did), a Latin-1 field lost its accented
 * letters to U+FFFD and was stored so.
 */
export function addFormContentTypeParser(scope: FastifyInstance, bodyLimit: number): void {
  scope.addContentTypeParser(FORM_MEDIA_TYPE, { parseAs: 'buffer', bodyLimit }, (request, bytes, done) => {
    const refused = contentEncodingRefusal(request) ?? charsetRefusal(request);
    if (refused) {
      done(refused, undefined);
      return;
    }
    const text = isUtf8(bytes as Buffer) ? (bytes as Buffer).toString('utf8') : undefined;
    if (text === undefined || !escapesAreUtf8(text)) {
      done(new BodyNotUtf8Error('form'), undefined);
      return;
    }
    done(null, formBody(parseForm(text)));
  });
}

/** The scope each route was declared in, to ask at documentation time whether it reads forms. */
const ROUTE_SCOPES = new WeakMap<object, FastifyInstance>();

/**
 * Notes the scope of every route `app` and its children declare from now on, for `readsForms`.
 * The form parser is registered for the whole server, so every route with a body takes a form,
 * except in a scope that removed it (the install door's JSON-only calls, the DNS update API).
 */
export function noteRouteScopes(app: FastifyInstance): void {
  app.addHook('onRoute', function (this: FastifyInstance, route) {
    ROUTE_SCOPES.set(route, this);
  });
}

/**
 * Whether `route` (the options object of a route declared after `noteRouteScopes`) takes form
 * bodies: its scope has the form parser. Asked once the server is ready, when every scope has its
 * parsers, not when the route is declared.
 */
export function readsForms(route: object): boolean {
  return ROUTE_SCOPES.get(route)?.hasContentTypeParser(FORM_MEDIA_TYPE) ?? false;
}
