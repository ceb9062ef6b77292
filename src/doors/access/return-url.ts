import { ConfigError, InvalidRequestError } from '../../core/errors.js';

/** Allowed returnURL origins per app id (apps not listed may use any http(s) URL). */
export type ReturnOrigins = ReadonlyMap<string, ReadonlySet<string>>;

/** Parses PAIRGATE_ACCESS_RETURN_ORIGINS (a JSON object app id -> origins). */
export function parseReturnOrigins(raw: string): ReturnOrigins {
  const map = new Map<string, Set<string>>();
  if (!raw.trim()) return map;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError('PAIRGATE_ACCESS_RETURN_ORIGINS', 'expected a JSON object {"app-id": ["https://origin"]}');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError('PAIRGATE_ACCESS_RETURN_ORIGINS', 'expected a JSON object {"app-id": ["https://origin"]}');
  for (const [appId, origins] of Object.entries(parsed)) {
    if (!Array.isArray(origins)) throw new ConfigError('PAIRGATE_ACCESS_RETURN_ORIGINS', `the value of "${appId}" must be a list of origins`);
    const set = new Set<string>();
    for (const origin of origins) {
      let url: URL;
      try {
        url = new URL(String(origin));
      } catch {
        throw new ConfigError('PAIRGATE_ACCESS_RETURN_ORIGINS', `"${String(origin)}" is not a URL`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError('PAIRGATE_ACCESS_RETURN_ORIGINS', `"${String(origin)}" is not http(s)`);
      set.add(url.origin);
    }
    map.set(appId, set);
  }
  return map;
}

/** A URL's host name as the consent screen names it, without the root's trailing dot. */
function shownHostname(url: string): string {
  return new URL(url).hostname.replace(/\.$/, '');
}

/**
 * Whether `returnURL` leads to a host an app's origins are pinned to (of any app): a request
 * sending the answer there is delivered as a pinned app's (`AccessRequest.pinned`) whatever app id
 * it names, since a look-alike of a pinned id (`bamk-app`, an m for the n) is another id, pinned to
 * nothing, and would otherwise have the pinned app's own host shown on the consent screen while
 * its token went to whoever polls. Compared by host name, not origin: the screen names the host
 * alone, so `http://bank.example`, `https://bank.example.` (the root's dot) and another port of a
 * pinned `https://bank.example` read as the pinned app's there too.
 */
export function isPinnedOrigin(returnURL: string, allowed: ReturnOrigins): boolean {
  const host = shownHostname(returnURL);
  for (const origins of allowed.values()) for (const origin of origins) if (shownHostname(origin) === host) return true;
  return false;
}

/**
 * A host as DNS and the CSP grammar know it, after WHATWG parsing (lower case, punycode): labels of
 * letters, digits and hyphens, an IPv4 address, or a bracketed IPv6 one. The URL parser keeps `;`,
 * `*`, `'` and `,` in a host, and the origin goes into the page's `form-action` (page-security.ts),
 * where `https://x;script-src` added a directive and `https://*` allowed every https site.
 */
const PLAIN_HOST = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.?|\[[0-9a-f:.]+\])$/;

/**
 * Checks an app's returnURL: an absolute http(s) URL without credentials, from an allowed origin
 * when the app has a list. Anything else is a 400: pairgate never redirects where it should not.
 */
export function checkReturnUrl(value: string, appId: string, allowed: ReturnOrigins): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidRequestError('returnURL must be an absolute http(s) URL.', { field: 'returnURL' }, 'invalid_return_url');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidRequestError('returnURL must be an http or https URL.', { field: 'returnURL' }, 'invalid_return_url');
  if (url.username || url.password) throw new InvalidRequestError('returnURL must not carry credentials.', { field: 'returnURL' }, 'invalid_return_url');
  if (!PLAIN_HOST.test(url.hostname)) throw new InvalidRequestError('returnURL\'s host must be a plain host name (letters, digits, hyphens and dots) or an IP address.', { field: 'returnURL' }, 'invalid_return_url');
  const origins = allowed.get(appId);
  if (origins && !origins.has(url.origin)) throw new InvalidRequestError(`returnURL ${url.origin} is not an allowed origin for this app.`, { field: 'returnURL' }, 'return_url_not_allowed');
  return value;
}

/**
 * The returnURL as a browser reads it: its WHATWG serialisation, which the check above parsed. A
 * redirect must not send the text as the app wrote it: a line break or a character beyond Latin-1
 * in it cannot go into a Location header (Node refuses it, and the person who had just accepted got
 * a 500), and "http:app.example" (parsed as http://app.example/) would be read by the browser as a
 * path on pairgate itself. The serialisation has the same host, percent-encoded, and keeps an empty
 * query or fragment (`?`, `#`), which decide where the parameters go.
 */
export function returnTarget(returnURL: string): string {
  return new URL(returnURL).href;
}

/** Query parameter pairs encoded with encodeURIComponent (space = %20, as Pryv's parser decodes). */
function encodePairs(params: Record<string, string | null | undefined>): string {
  return Object.entries(params)
    .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
    .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`)
    .join('&');
}

/**
 * `returnURL` with `params` appended, every value URL-encoded. A returnURL ending in `#` gets them
 * in the fragment (Pryv's convention for single-page apps); otherwise they join the query, before
 * any fragment.
 */
export function appendReturnParams(returnURL: string, params: Record<string, string | null | undefined>): string {
  const encoded = encodePairs(params);
  if (returnURL.endsWith('#')) return returnURL + encoded;
  const hashAt = returnURL.indexOf('#');
  const base = hashAt < 0 ? returnURL : returnURL.slice(0, hashAt);
  const fragment = hashAt < 0 ? '' : returnURL.slice(hashAt);
  const separator = base.endsWith('?') || base.endsWith('&') ? '' : base.includes('?') ? '&' : '?';
  return `${base}${separator}${encoded}${fragment}`;
}
