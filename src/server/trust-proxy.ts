import { isIP } from 'node:net';
import { ConfigError } from '../core/errors.js';

/**
 * `PAIRGATE_TRUST_PROXY`: the reverse proxies whose X-Forwarded-For is believed. Fastify hands the
 * list to proxy-addr, which throws "invalid IP address: ..." on the first entry it cannot read, a
 * message that names no setting and stopped the start as an unexpected failure (exit 1). Each
 * entry is checked here first, so a mistake names the key and what it takes.
 */

const KEY = 'PAIRGATE_TRUST_PROXY';

/** The names proxy-addr reads as ranges. */
const NAMED_RANGES = ['loopback', 'linklocal', 'uniquelocal'];

const TAKES = 'the comma-separated addresses or CIDR ranges of your reverse proxies (127.0.0.1, 10.0.0.0/8, fd00::/8; or loopback, linklocal, uniquelocal), or nothing to believe none';

/** Why `entry` is not an address, a range or a named range, or undefined when it is one. */
function entryProblem(entry: string): string | undefined {
  if (NAMED_RANGES.includes(entry)) return undefined;
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (!family || rest.length > 0) {
    // Other servers take `true` or `*` for "every proxy": pairgate does not (any client could then
    // choose the address every limit counts by).
    if (/^(true|yes|1|\*|all)$/i.test(entry)) return `${JSON.stringify(entry)} would believe any client: name your proxies instead`;
    return `${JSON.stringify(entry)} is not an address or a CIDR range`;
  }
  if (prefix === undefined) return undefined;
  const bits = family === 4 ? 32 : 128;
  // proxy-addr also reads an IPv4 netmask (10.0.0.0/255.0.0.0).
  if (family === 4 && isIP(prefix) === 4) return undefined;
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > bits) return `${JSON.stringify(entry)} has a prefix length that is not 0 to ${bits}`;
  return undefined;
}

/**
 * The proxies `value` names, as Fastify's `trustProxy` takes them (false for none); a ConfigError
 * naming the key and the entry at fault otherwise. Blank entries (a trailing comma) are skipped.
 */
export function trustedProxies(value: string): string[] | false {
  const entries = value.split(',').map((entry) => entry.trim()).filter(Boolean);
  for (const entry of entries) {
    const problem = entryProblem(entry);
    if (problem) throw new ConfigError(KEY, `${problem}; expected ${TAKES}`);
  }
  return entries.length > 0 ? entries : false;
}
