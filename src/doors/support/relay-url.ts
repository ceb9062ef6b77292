import { ConfigError, InvalidRequestError, ForbiddenError } from '../../core/errors.js';
import { isInternalAddress } from './internal-address.js';

/** What the relay accepts as an origin's pairing base URL. */
export interface OriginUrlRules {
  allowHttp: boolean;
  /** `host` (its scheme's default port only) or `host:port` entries, as `allowedHostEntry` writes them; empty = any host. */
  allowedHosts: readonly string[];
  maxLength: number;
}

/**
 * Checks an origin's pairing base URL before the relay will redirect people to it: absolute,
 * http(s) (https unless allowed), no credentials, query or fragment (the code is appended as a path
 * segment), within the length limit and, when configured, on an allowed host. Returns it without a
 * trailing slash. The relay redirects only to URLs that passed here: it is a directory of origins,
 * not an open redirector for arbitrary schemes.
 */
export function checkOriginUrl(raw: unknown, rules: OriginUrlRules): string {
  if (typeof raw !== 'string' || raw.trim() === '') {
    throw new InvalidRequestError('"url" is required: the absolute URL of the origin\'s pairing endpoint.', undefined, 'url_missing');
  }
  if (raw.length > rules.maxLength) {
    throw new InvalidRequestError(`"url" is longer than ${rules.maxLength} characters.`, undefined, 'url_too_long');
  }
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new InvalidRequestError('"url" is not an absolute URL.', undefined, 'url_invalid');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InvalidRequestError(`"url" must be an http(s) URL, not ${url.protocol}.`, undefined, 'url_scheme');
  }
  if (url.protocol === 'http:' && !rules.allowHttp) {
    // Said to whoever runs the origin (pairgate's origin passes it on in its 502): on the one-machine
    // setup of docs/support.md, forgetting this key is the usual cause, so name it.
    throw new InvalidRequestError('"url" must use https: this relay takes http:// origins only with PAIRGATE_RELAY_ALLOW_HTTP=true.', undefined, 'url_not_https');
  }
  if (url.username || url.password) {
    throw new InvalidRequestError('"url" must not carry credentials.', undefined, 'url_credentials');
  }
  if (url.search || url.hash || raw.includes('?') || raw.includes('#')) {
    throw new InvalidRequestError('"url" must not have a query or fragment.', undefined, 'url_query');
  }
  // `url.host` carries the port unless it is the scheme's default: an entry without a port allows
  // that host on 443 (or 80) only, as an origin would; another port of the host may be another
  // service, run by someone else.
  // Compared as `allowedHostEntry` writes the entries: the name in ASCII (an IDN's punycode, which
  // is what `url.hostname` holds), without a trailing dot (the same name in DNS).
  const hostname = url.hostname.replace(/\.$/, '');
  const host = url.port ? `${hostname}:${url.port}` : hostname;
  // An open relay for the internet (https only) sends no one to an address inside a network: a code
  // would take a person's browser, or `pairgate join`'s confirmation, to their own machine, their
  // router or a cloud's metadata service. The local set-up (http allowed) and listed hosts may.
  if (rules.allowedHosts.length === 0 && !rules.allowHttp && isInternalAddress(hostname)) {
    throw new ForbiddenError(`Origins on ${host} may not publish on this relay: it is an address or name inside a network (loopback, private, link-local or reserved; localhost, .local...), where a relay for the internet sends no one. List it in PAIRGATE_RELAY_ALLOWED_HOSTS to allow it.`, 'origin_internal_address');
  }
  if (rules.allowedHosts.length > 0 && !rules.allowedHosts.includes(host)) {
    const other = rules.allowedHosts.includes(hostname) ? ` This relay allows ${hostname} on the ${url.protocol === 'https:' ? 'https' : 'http'} port only; add "${host}" to PAIRGATE_RELAY_ALLOWED_HOSTS to allow port ${url.port} too.` : '';
    throw new ForbiddenError(`Origins on ${url.host} may not publish on this relay.${other}`, 'origin_not_allowed');
  }
  return url.href.replace(/\/+$/, '');
}

/**
 * An entry of PAIRGATE_RELAY_ALLOWED_HOSTS as origins' URLs are compared with it: `host` or
 * `host:port` (an IPv6 address in brackets), the name as a URL holds it (lower case, an IDN in
 * punycode: `bücher.example` is `xn--bcher-kva.example`), without a trailing dot, the port as a
 * number. Written as typed, an IDN entry matched no URL at all. Throws a ConfigError naming the
 * key for an entry that is no host.
 */
export function allowedHostEntry(entry: string): string {
  const parts = /^(\[[^\]]*\]|[^:/?#@\s]+)(?::(\d{1,5}))?$/.exec(entry.trim());
  let hostname: string | undefined;
  try {
    hostname = parts ? new URL(`https://${parts[1]}/`).hostname.replace(/\.$/, '') : undefined;
  } catch {
    hostname = undefined;
  }
  const port = parts?.[2] === undefined ? undefined : Number(parts[2]);
  if (!hostname || (port !== undefined && (port < 1 || port > 65535))) {
    throw new ConfigError('PAIRGATE_RELAY_ALLOWED_HOSTS', `${JSON.stringify(entry)} is not a host or host:port (write an IPv6 address in brackets, [2001:db8::1]:8443).`);
  }
  return port === undefined ? hostname : `${hostname}:${port}`;
}

/** Splits a comma-separated configuration list. */
export function splitList(value: string): string[] {
  return value.split(',').map((item) => item.trim()).filter(Boolean);
}
