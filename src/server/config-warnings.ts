import { isIP } from 'node:net';
import editDistance from 'damerau-levenshtein';
import type { Door } from '../doors/door.js';
import { nameServersWithoutAddresses, zoneSettings } from '../doors/dns/zone-settings.js';
import { isFetchBlockedPort } from './blocked-ports.js';
import type { Config } from './config.js';

/** Whether `host` is reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/**
 * How others reach the server, for the warnings below to name; undefined when only this machine
 * does. Listening on loopback is not enough to say so: behind a reverse proxy on the same machine
 * (the deployment docs/deploy.md describes) everyone reaches it, which a public URL that is not
 * loopback, or a proxy whose forwarded addresses are believed, says.
 */
export function reachedAs(config: Config): string | undefined {
  if (!isLoopbackHost(config.PAIRGATE_HOST)) return config.PAIRGATE_HOST;
  const publicHost = config.PAIRGATE_PUBLIC_URL ? new URL(config.PAIRGATE_PUBLIC_URL).hostname.replace(/^\[|\]$/g, '') : '';
  if (publicHost && !isLoopbackHost(publicHost)) return `${config.PAIRGATE_PUBLIC_URL} (through the proxy)`;
  if (config.PAIRGATE_TRUST_PROXY.trim()) return 'the proxy (PAIRGATE_TRUST_PROXY)';
  return undefined;
}

/**
 * Settings that are allowed but risky once the server is reachable from other machines (`reachedAs`:
 * directly, or through a proxy), each said once at start-up (a warning in the log, with what to
 * set): pairgate starts anyway, as these are fine behind a proxy that guards them. Doors add theirs
 * (`Door.configWarnings`, called only then). A port browsers refuse, and a DNS zone whose own name
 * servers have no address, are said wherever the server listens.
 */
export function configWarnings(config: Config, doors: readonly Door[]): string[] {
  const warnings: string[] = [];
  // On this machine too: the CLI on it cannot call such a port either.
  if (isFetchBlockedPort(config.PAIRGATE_PORT)) {
    warnings.push(`Port ${config.PAIRGATE_PORT} is one browsers and fetch refuse to call (it belongs to another protocol): pages, the SDK and pairgate's own commands cannot reach this server there. Choose another port (443, or 8080 and the like).`);
  }
  warnings.push(...dnsDelegationWarnings(config, doors));
  const reached = reachedAs(config);
  if (reached === undefined) return warnings;
  if (config.PAIRGATE_METRICS && !config.PAIRGATE_METRICS_TOKEN) {
    warnings.push(`/metrics is open to anyone reaching ${reached}: set PAIRGATE_METRICS_TOKEN, or PAIRGATE_METRICS=false.`);
  }
  if (!config.PAIRGATE_PUBLIC_URL) {
    warnings.push('PAIRGATE_PUBLIC_URL is not set: links, QR codes and cookies use the listening address; set the https URL clients reach.');
  } else if (config.PAIRGATE_PUBLIC_URL.startsWith('http:')) {
    warnings.push(`PAIRGATE_PUBLIC_URL is http (${config.PAIRGATE_PUBLIC_URL}): sign-in cookies are not marked Secure and codes travel in clear; serve it over https.`);
  }
  for (const door of doors) {
    if (door.enabled && !door.enabled(config)) continue;
    warnings.push(...(door.configWarnings?.(config) ?? []));
  }
  return warnings;
}

/**
 * A DNS zone whose NS records name a server inside it that has no address here (the default,
 * `ns1.<zone>`, without PAIRGATE_DNS_NS_ADDRESSES): that name is NXDOMAIN, so resolvers drop or
 * never find the name server and the delegation cannot work. Said wherever the server listens, as
 * the DNS server may listen elsewhere (PAIRGATE_DNS_HOST) than the HTTP one.
 */
function dnsDelegationWarnings(config: Config, doors: readonly Door[]): string[] {
  const dns = doors.find((door) => door.name === 'dns');
  if (!dns || (dns.enabled && !dns.enabled(config))) return [];
  const settings = zoneSettings(config);
  const missing = nameServersWithoutAddresses(settings);
  if (missing.length === 0) return [];
  const named = missing.join(', ');
  return [
    `The DNS zone's name server${missing.length > 1 ? 's' : ''} ${named} ${missing.length > 1 ? 'are' : 'is'} inside ${settings.zone} but PAIRGATE_DNS_NS_ADDRESSES is empty: this server answers NXDOMAIN for ${named} while its NS records name ${missing.length > 1 ? 'them' : 'it'}, so resolvers cannot follow the delegation. ` +
      'Set PAIRGATE_DNS_NS_ADDRESSES to the public addresses of the DNS server (the glue given to the parent zone), or name servers outside the zone in PAIRGATE_DNS_NS.',
  ];
}

/**
 * Keys that pairgate's own tooling reads from the environment, not the server: the CLI's clients
 * (`grant`, `session`, `box`, `join`, `lan`), the benchmarks and the tests. A shell that exports
 * them may well start `serve` too, so they are not unknown keys there.
 * test/server/config-warnings.test.ts checks this list against what the code reads.
 */
export const TOOLING_ENV_KEYS: readonly string[] = [
  'PAIRGATE_SERVER',
  'PAIRGATE_RELAY_URL',
  'PAIRGATE_BOX_DIR',
  'PAIRGATE_CONFIG_DIR',
  'PAIRGATE_BENCH_PIN',
  'PAIRGATE_BENCH_PG_URL',
  'PAIRGATE_BENCH_REDIS_URL',
  'PAIRGATE_TEST_PG_URL',
  'PAIRGATE_TEST_REDIS_URL',
  'PAIRGATE_CHROMIUM',
];

/**
 * Keys people set expecting a setting pairgate takes otherwise: the configuration file is named on
 * the command line only (a variable naming it was ignored, and the server ran on its defaults).
 */
const MEANT_OTHERWISE: Readonly<Record<string, string>> = {
  PAIRGATE_CONFIG: 'the configuration file is named with serve --config FILE',
  PAIRGATE_CONFIG_FILE: 'the configuration file is named with serve --config FILE',
  PAIRGATE_ENV_FILE: 'the configuration file is named with serve --config FILE',
};

/**
 * One warning for each of `keys` that starts with one of `prefixes` (in any case) and is not `known`: a misspelt
 * key is otherwise ignored without a word, and the server runs on the default instead. A warning
 * names the key and, when a known key is a slip of the finger away, that key; never the value,
 * which may be a secret.
 */
export function unknownKeyWarnings(keys: Iterable<string>, known: readonly string[], prefixes: readonly string[]): string[] {
  const knownSet = new Set(known);
  const warnings: string[] = [];
  for (const key of keys) {
    // Keys are read in upper case only: pairgate_port=0 in a file was ignored without a word.
    const upper = key.toUpperCase();
    if (knownSet.has(key) || !prefixes.some((prefix) => upper.startsWith(prefix))) continue;
    const near = closestKey(upper, known);
    const hint = knownSet.has(upper) ? `keys are upper case: ${upper}` : MEANT_OTHERWISE[upper] ?? (near ? `did you mean ${near}?` : 'misspelt? see serve --help-config');
    warnings.push(`${key} is not a configuration key and is ignored (${hint})`);
  }
  return warnings;
}

/**
 * The known key nearest to `key`, if it is close enough to be the one meant: one edit for a short
 * name (PAIRGATE_PROT, PAIRGATE_PORT), up to three for long ones. Only the part after the shared
 * prefix counts toward "short", or every key would be long.
 */
function closestKey(key: string, known: readonly string[]): string | undefined {
  const name = key.slice(key.indexOf('_') + 1);
  const allowed = Math.min(3, Math.max(1, Math.floor(name.length / 4)));
  let best: { key: string; distance: number } | undefined;
  for (const candidate of [...known].sort()) {
    const distance = editDistance(key, candidate).steps;
    if (distance <= allowed && (!best || distance < best.distance)) best = { key: candidate, distance };
  }
  return best?.key;
}

