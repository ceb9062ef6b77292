import type { Config } from '../../server/config.js';

/**
 * Guesses per second the rate limits let an attacker make on one door's code look-ups: the lower
 * of the look-up limit and the miss budget, over every address the attacker is assumed to control
 * (`PAIRGATE_ATTACKER_ADDRESSES`). Each door with short codes checks its brute-force budget with it.
 */
export function attackerGuessRate(config: Config): number {
  return Math.min(
    (config.PAIRGATE_CODE_LOOKUPS_PER_MINUTE / 60) * config.PAIRGATE_ATTACKER_ADDRESSES,
    (config.PAIRGATE_CODE_MISSES_PER_HOUR / 3600) * config.PAIRGATE_ATTACKER_ADDRESSES,
  );
}
