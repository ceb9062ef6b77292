import { configSection, type Config } from '../../server/config.js';
import { attackerGuessRate } from '../shared/attacker-guess-rate.js';
import { relayConfigSchema, supportConfigSchema } from './config.js';

/**
 * Live sessions when PAIRGATE_SUPPORT_MAX_SESSIONS is not set: on this server's own relay the
 * defaults keep the origin's codes within the default brute-force budget with 100; on a relay of
 * its own (another server), which counts guesses apart, half as many (see `originGuessRate`).
 */
const DEFAULT_MAX_SESSIONS = { ownRelay: 100, otherRelay: 50 } as const;

/** `value` as a URL without a trailing slash (scheme and host as URL parsing writes them), or undefined. */
function normalised(value: string): string | undefined {
  try {
    const url = new URL(value);
    return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  } catch {
    return undefined;
  }
}

/**
 * Whether PLEXUS_PAIRING_URL is this process's own relay: the relay door on beside the origin, at
 * its prefix under this server's address (PAIRGATE_PUBLIC_URL, else the loopback or configured
 * host on PAIRGATE_PORT, as the one-machine set-up of docs/support.md). Then a wrong code at the
 * relay and one at the origin spend the same miss budget per address (one code scope); anything
 * else is counted as another server, whose look-ups are budgeted apart.
 */
export function publishesOnOwnRelay(config: Config): boolean {
  const relay = configSection(config, relayConfigSchema);
  const pairingUrl = configSection(config, supportConfigSchema).PLEXUS_PAIRING_URL;
  if (!relay.PAIRGATE_RELAY_ENABLED || relay.PAIRGATE_RELAY_ONLY || !pairingUrl) return false;
  const bases = config.PAIRGATE_PUBLIC_URL
    ? [config.PAIRGATE_PUBLIC_URL.replace(/\/+$/, '')]
    : ['127.0.0.1', 'localhost', '[::1]', config.PAIRGATE_HOST.includes(':') ? `[${config.PAIRGATE_HOST}]` : config.PAIRGATE_HOST]
        .map((host) => `http://${host}:${config.PAIRGATE_PORT}`);
  const target = normalised(pairingUrl);
  return target !== undefined && bases.some((base) => normalised(`${base}${relay.PAIRGATE_RELAY_PREFIX}/pairing`) === target);
}

/**
 * Guesses per second an attacker gets at the origin's codes. Each session's code is also a code of
 * the relay, where a right guess is redirected to it: a relay that is another server keeps its own
 * miss counters, so each address gets the relay's budget on top of the origin's. That relay's
 * limits are not known here; they are counted as the origin's own (the same shared keys'
 * defaults), so the rate doubles. On this server's own relay both count against one budget.
 */
export function originGuessRate(config: Config): number {
  const ttl = configSection(config, supportConfigSchema).PLEXUS_PAIRING_TTL;
  return attackerGuessRate(config, ttl) * (publishesOnOwnRelay(config) ? 1 : 2);
}

/** Live sessions (and so live pairing codes) at once: PAIRGATE_SUPPORT_MAX_SESSIONS, or its default for this set-up. */
export function maxSessions(config: Config): number {
  const set = configSection(config, supportConfigSchema).PAIRGATE_SUPPORT_MAX_SESSIONS;
  if (set !== undefined) return set;
  return publishesOnOwnRelay(config) || !configSection(config, supportConfigSchema).PLEXUS_PAIRING_URL ? DEFAULT_MAX_SESSIONS.ownRelay : DEFAULT_MAX_SESSIONS.otherRelay;
}
