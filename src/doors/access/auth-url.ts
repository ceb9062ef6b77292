import { ConfigError } from '../../core/errors.js';

/**
 * Which auth pages an auth request may name as `authUrl`. A trusted entry is compared as a parsed
 * URL, never as a string prefix: a string prefix `https://good.example.com` also admits
 * `https://good.example.com.evil.net/` and `https://good.example.com@evil.net/`, and `/auth`
 * admits `/authority`. Parsing also resolves `..` segments and backslashes the way a browser
 * will, so what is checked is where the browser goes.
 */

/** A parsed trusted auth URL: its origin, and the path its pages live under. */
interface TrustedAuthUrl {
  origin: string;
  path: string;
}

function parseHttpUrl(value: string): URL | undefined {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Reads PAIRGATE_ACCESS_TRUSTED_AUTH_URLS (comma-separated): each entry must be an absolute
 * http(s) URL without credentials, query or fragment (the parts a prefix cannot sensibly mean).
 * A ConfigError naming the key otherwise, so a typo stops start-up instead of trusting nothing, or
 * too much.
 */
export function parseTrustedAuthUrls(raw: string): string[] {
  const entries = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const entry of entries) {
    const url = parseHttpUrl(entry);
    if (!url || url.username || url.password || url.search || url.hash || entry.includes('#') || entry.includes('?')) {
      throw new ConfigError('PAIRGATE_ACCESS_TRUSTED_AUTH_URLS', `"${entry}" is not an absolute http(s) URL without credentials, query or fragment, e.g. https://auth.example.com/access/`);
    }
  }
  return entries;
}

function trusted(value: string): TrustedAuthUrl | undefined {
  const url = parseHttpUrl(value);
  return url ? { origin: url.origin, path: url.pathname } : undefined;
}

/** True when `path` is `prefix` or lies under it, on a segment boundary. */
function underPath(path: string, prefix: string): boolean {
  if (path === prefix) return true;
  return prefix.endsWith('/') ? path.startsWith(prefix) : path.startsWith(`${prefix}/`);
}

/**
 * The auth page an app asked for, normalised, if it lies under one of `trustedUrls`: same origin
 * (scheme, host and port) and a path under the trusted path on a segment boundary. Undefined when
 * it does not (or is no http(s) URL, or carries credentials).
 */
export function trustedAuthUrl(candidate: string, trustedUrls: readonly string[]): string | undefined {
  const url = parseHttpUrl(candidate);
  if (!url || url.username || url.password) return undefined;
  const ok = trustedUrls.some((entry) => {
    const prefix = trusted(entry);
    return prefix !== undefined && prefix.origin === url.origin && underPath(url.pathname, prefix.path);
  });
  return ok ? url.href : undefined;
}
