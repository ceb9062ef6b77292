import { isUtf8 } from 'node:buffer';
import type { FastifyInstance } from 'fastify';
import { BodyNotUtf8Error } from './json-body.js';
import { formBody } from './request-validation.js';

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
  scope.addContentTypeParser(FORM_MEDIA_TYPE, { parseAs: 'buffer', bodyLimit }, (_request, bytes, done) => {
    const text = isUtf8(bytes as Buffer) ? (bytes as Buffer).toString('utf8') : undefined;
    if (text === undefined || !escapesAreUtf8(text)) {
      done(new BodyNotUtf8Error('form'), undefined);
      return;
    }
    done(null, formBody(parseForm(text)));
  });
}

/** A run of percent-escapes (`%C3%A9`): the bytes of one or more characters. */
const ESCAPE_RUN = /(?:%[0-9A-Fa-f]{2})+/g;

/**
 * Whether every run of percent-escapes in `text` decodes to UTF-8. A form whose escapes are not
 * (`caf%E9`, Latin-1's é) is refused as a raw Latin-1 one is: the WHATWG parser would store U+FFFD
 * in its place, and fast-querystring, used before, kept the field undecoded ("caf%E9"). A `%` that
 * starts no escape (`100%`) is not an encoding error: it stays as it is.
 */
export function escapesAreUtf8(text: string): boolean {
  if (!text.includes('%')) return true;
  for (const [run] of text.matchAll(ESCAPE_RUN)) {
    if (!isUtf8(Buffer.from(run.replaceAll('%', ''), 'hex'))) return false;
  }
  return true;
}

/**
 * The fields of an urlencoded form, by the WHATWG URL standard's parser (URLSearchParams), as
 * browsers send them: `+` is a space, and a `%` that starts no escape is kept while the escapes
 * around it are decoded (fast-querystring, used before, left the whole field undecoded then:
 * `100%25 %zz` stayed as typed). A name sent twice becomes a list, which a route's schema refuses
 * where it wants one value. The object has no prototype, so that `__proto__` is a name like others.
 */
export function parseForm(text: string): Record<string, string | string[]> {
  const fields: Record<string, string | string[]> = Object.create(null);
  for (const [name, value] of new URLSearchParams(text)) {
    const earlier = fields[name];
    if (earlier === undefined) fields[name] = value;
    else if (typeof earlier === 'string') fields[name] = [earlier, value];
    else earlier.push(value);
  }
  return fields;
}
