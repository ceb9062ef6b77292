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

/** Fields by name, a name sent twice as a list. */
export type UrlEncodedFields = Record<string, string | string[]>;

/**
 * The prototype of every fields object: nothing, so that no name is inherited (`constructor`,
 * `toString`) and `__proto__` is a name like others. An object made by `Object.create(null)` would
 * do that too, but V8 keeps it in dictionary mode, and every later read of it takes the slow path:
 * the wait endpoint's `?wait=0`, parsed so, cost 12 us more per request than with fast-querystring
 * (alternating runs); made by `Fields`, about 1 us, the parsing itself. It is not frozen (frozen,
 * it measured no faster), and no field written to a fields object reaches it: no `__proto__`
 * accessor is on the chain, so `__proto__=x` is a field of its own (tested).
 */
const NO_NAMES: object = Object.create(null);

/** Makes the fields objects: `new` on a constructor gives V8 room for their fields in the object itself. */
const Fields = function Fields() {} as unknown as new () => UrlEncodedFields;
Fields.prototype = NO_NAMES as UrlEncodedFields;

/** Text without escapes, in printable ASCII: decoded by turning `+` into spaces, nothing more. */
const PLAIN = /^[\x20-\x24\x26-\x7e]*$/;

/**
 * The fields of urlencoded text (a form's body, a query string), by the WHATWG URL standard's
 * parser (URLSearchParams), as browsers send them: `+` is a space, and a `%` that starts no escape
 * is kept while the escapes around it are decoded (fast-querystring, used before, left the whole
 * field undecoded then: `100%25 %zz` stayed as typed). A name sent twice becomes a list, which a
 * route's schema refuses where it wants one value. No name is inherited (NO_NAMES).
 *
 * Text with no escape and nothing outside printable ASCII (`wait=30&since=1`) is split here, by
 * the same steps: the standard's parser costs ten times as much, on every long-poll.
 */
export function parseForm(text: string): UrlEncodedFields {
  const fields = new Fields();
  // The router asks for the query of every request, and most have none.
  if (text.length === 0) return fields;
  if (PLAIN.test(text)) {
    for (const pair of text.split('&')) {
      if (pair === '') continue;
      const equals = pair.indexOf('=');
      const name = equals === -1 ? pair : pair.slice(0, equals);
      const value = equals === -1 ? '' : pair.slice(equals + 1);
      addField(fields, name.replaceAll('+', ' '), value.replaceAll('+', ' '));
    }
    return fields;
  }
  // The constructor drops a leading `?` (a URL's search, handed over whole); the standard's parser
  // of urlencoded text does not: an empty first pair keeps it, and is skipped as empty pairs are.
  for (const [name, value] of new URLSearchParams(`&${text}`)) addField(fields, name, value);
  return fields;
}

/** Adds one field: a second value of a name makes a list. */
function addField(fields: UrlEncodedFields, name: string, value: string): void {
  const earlier = fields[name];
  if (earlier === undefined) fields[name] = value;
  else if (typeof earlier === 'string') fields[name] = [earlier, value];
  else earlier.push(value);
}
