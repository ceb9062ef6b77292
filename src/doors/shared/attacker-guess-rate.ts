import { fixedWindowAttempts } from '../../core/brute-force.js';
import { missesPerFiveMinutes } from '../../engine/code-guard.js';
import type { Config } from '../../server/config.js';

/**
 * Guesses per second the rate limits let an attacker make on one door's code look-ups, averaged
 * over `ttlSeconds` (a code's lifetime, which the brute-force scenario multiplies it by again): per
 * address, the fewest that any one limit lets through within that span (the look-ups per minute,
 * the misses per hour, and the share of them allowed in five minutes), each counted as the fixed
 * window it is (`fixedWindowAttempts`), over every address the attacker is assumed to control
 * (`PAIRGATE_ATTACKER_ADDRESSES`). Each door with short codes checks its brute-force budget with it.
 */
export function attackerGuessRate(config: Config, ttlSeconds: number): number {
  const missesPerHour = config.PAIRGATE_CODE_MISSES_PER_HOUR;
  const perAddress = Math.min(
    fixedWindowAttempts(config.PAIRGATE_CODE_LOOKUPS_PER_MINUTE, 60, ttlSeconds),
    fixedWindowAttempts(missesPerHour, 3600, ttlSeconds),
    fixedWindowAttempts(missesPerFiveMinutes(missesPerHour), 300, ttlSeconds),
  );
  return ttlSeconds > 0 ? (perAddress * config.PAIRGATE_ATTACKER_ADDRESSES) / ttlSeconds : 0;
}
