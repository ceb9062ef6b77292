import { isUtf8 } from 'node:buffer';
import type { FastifyInstance } from 'fastify';
import { BodyNotUtf8Error, contentEncodingRefusal } from './body-refusals.js';
import { formBody } from './request-validation.js';
import { escapesAreUtf8, parseForm } from './url-encoded.js';

/** The media type of HTML forms' bodies (and of OAuth's token requests). */
export const FORM_MEDIA_TYPE = 'application/x-www-form-urlencoded';

/**
 * Registers the parser of form bodies on `scope`: the body is read as bytes, refused with
 * BodyNotUtf8Error unless its bytes and its percent-escapes are UTF-8, parsed (parseForm) and
 * marked as form text (`formBody`), so that its fields are converted to the schema's types.
 * Browsers percent-encode every byte outside ASCII, so raw bytes come only from hand-made clients;
 * read as text (as @fastify/formbody, which this replaces, did), a Latin-1 field lost its accented
 * letters to U+FFFD and was stored so.
 */
export function addFormContentTypeParser(scope: FastifyInstance, bodyLimit: number): void {
  scope.addContentTypeParser(FORM_MEDIA_TYPE, { parseAs: 'buffer', bodyLimit }, (request, bytes, done) => {
    const encoded = contentEncodingRefusal(request);
    if (encoded) {
      done(encoded, undefined);
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
