import { isUtf8 } from 'node:buffer';

// Text in the urlencoded form (forms' bodies, query strings): checked and parsed here, with no
// import of the server's own, so that every parser of such text can use it.

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
