import { escapesAreUtf8, parseForm, type UrlEncodedFields } from './url-encoded.js';

/** Marks the query of a request whose percent-escapes are not UTF-8 (see parseQuery). */
const NOT_UTF8 = Symbol('pairgate.queryNotUtf8');

/** What a query refused for its escapes is told, after the part's name (the error handler ends the sentence). */
export const QUERY_NOT_UTF8_MESSAGE = 'has a percent-escape that is not UTF-8 (such as %E9, Latin-1\'s é). Percent-encode the UTF-8 bytes of each value, as browsers do, and send it again';

/**
 * The server's query-string parser (Fastify's `routerOptions.querystringParser`): the WHATWG URL
 * standard's, as forms are parsed (parseForm: `+` is a space, a name sent twice becomes a list, a
 * `%` that starts no escape stays as it is). Fastify's default (fast-querystring) kept a value
 * whose escapes are not UTF-8 undecoded, so `?state=caf%E9` reached a route as the text "caf%E9",
 * and the WHATWG parser alone would turn it into U+FFFD: either way the value is not what was sent.
 * Such a query parses as no fields, marked (`isQueryNotUtf8`): a route whose schema reads the query
 * refuses it (requestValidation) with a 400 that says why; a route that reads no query has nothing
 * to refuse. The parser never throws: it runs inside the router, where an exception would escape
 * every error handler.
 */
export function parseQuery(text: string): UrlEncodedFields {
  if (escapesAreUtf8(text)) return parseForm(text);
  const marked = parseForm('');
  Object.defineProperty(marked, NOT_UTF8, { value: true });
  return marked;
}

/** Whether `query` is one parseQuery refused: its percent-escapes are not UTF-8. */
export function isQueryNotUtf8(query: unknown): boolean {
  return typeof query === 'object' && query !== null && (query as Record<symbol, unknown>)[NOT_UTF8] === true;
}
