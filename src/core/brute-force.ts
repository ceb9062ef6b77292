import { ConfigError } from './errors.js';

/**
 * The brute-force budget as arithmetic. An attacker who may make `attemptsPerSecond` guesses (the
 * rate limits allow no more, summed over every address they control) against a space of `2^bits`
 * codes of which `liveCodes` are live, for `ttlSeconds`, hits some live code with probability
 * 1 - (1 - live/space)^attempts. Guesses are counted as independent draws, which overstates the
 * attacker's chance slightly (they would not repeat a guess): the figure is an upper bound.
 */
export interface BruteForceScenario {
  /** Entropy of one code in bits. */
  entropyBits: number;
  /** Codes live at the same time. */
  liveCodes: number;
  /** How long the attacker has, usually a code's lifetime. */
  ttlSeconds: number;
  /** Guesses per second the rate limits let through, for all of the attacker's addresses together. */
  attemptsPerSecond: number;
}

/**
 * The most attempts a counter of `limit` per window of `windowSeconds` lets through within any span
 * of `spanSeconds`. pairgate's counters are fixed windows that start at their first attempt (the
 * ephemeral store's `increment`, @fastify/rate-limit), not sliding ones: a span can overlap the end
 * of one window and the whole of the next, so a budget per hour can be spent twice within minutes,
 * at most `ceil(span / window) + 1` windows' worth. Counting it as a steady rate (limit x span /
 * window) understated what an attacker gets, twelvefold for an hourly budget and a 10-minute code.
 */
export function fixedWindowAttempts(limit: number, windowSeconds: number, spanSeconds: number): number {
  for (const [key, value] of Object.entries({ limit, windowSeconds, spanSeconds })) {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`${key} must be a finite number >= 0`);
  }
  if (windowSeconds === 0) throw new RangeError('windowSeconds must be > 0');
  if (spanSeconds === 0) return 0;
  return limit * (Math.ceil(spanSeconds / windowSeconds) + 1);
}

/** Probability in [0, 1] that the attacker guesses at least one live code. */
export function guessProbability(scenario: BruteForceScenario): number {
  const { entropyBits, liveCodes, ttlSeconds, attemptsPerSecond } = scenario;
  for (const [key, value] of Object.entries(scenario)) {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`${key} must be a finite number >= 0`);
  }
  const attempts = Math.floor(attemptsPerSecond * ttlSeconds);
  const hitPerAttempt = Math.min(1, liveCodes / 2 ** entropyBits);
  if (hitPerAttempt === 0 || attempts === 0) return 0;
  if (hitPerAttempt === 1) return 1;
  // 1 - (1-p)^n computed as -expm1(n * log1p(-p)) so tiny probabilities do not round to zero.
  return -Math.expm1(attempts * Math.log1p(-hitPerAttempt));
}

/** The largest number of live codes that keeps the probability within `budget`. */
export function maxLiveCodes(scenario: Omit<BruteForceScenario, 'liveCodes'>, budget: number): number {
  const attempts = Math.floor(scenario.attemptsPerSecond * scenario.ttlSeconds);
  if (attempts === 0) return Number.POSITIVE_INFINITY;
  // Solve 1 - (1 - L/S)^n <= budget for L.
  const perAttempt = -Math.expm1(Math.log1p(-budget) / attempts);
  return Math.floor(perAttempt * 2 ** scenario.entropyBits);
}

/**
 * Throws a ConfigError naming `key` when the scenario exceeds `budget`; used at start-up so that a
 * configuration with codes too short, too many or too long-lived is refused, not run.
 */
export function assertWithinBudget(key: string, scenario: BruteForceScenario, budget: number): number {
  const probability = guessProbability(scenario);
  if (probability > budget) {
    throw new ConfigError(
      key,
      `codes of ${scenario.entropyBits.toFixed(1)} bits with up to ${scenario.liveCodes} live for ` +
        `${scenario.ttlSeconds} s at ${formatRate(scenario.attemptsPerSecond)} guesses/s give an attacker a ` +
        `${formatProbability(probability)} chance, above the budget of ${formatProbability(budget)}. ` +
        'Use longer codes, a shorter lifetime or stricter rate limits.',
    );
  }
  return probability;
}

/**
 * A guess rate for people: at most three significant digits (`16.7`, not the division's
 * `16.666666666666668`), whole numbers as they are.
 */
function formatRate(perSecond: number): string {
  return Number.isInteger(perSecond) ? String(perSecond) : String(Number(perSecond.toPrecision(3)));
}

/** A probability for people: `1 in 2.4 million`, or a share in per cent from one half up. */
export function formatProbability(probability: number): string {
  if (probability <= 0) return '0';
  // "1 in 1" or "1 in 2" read as odd arithmetic; a chance this large reads better in per cent.
  if (probability >= 0.5) return `${Math.min(100, Math.round(probability * 100))}%`;
  const oneIn = 1 / probability;
  if (oneIn >= 1e9) return `1 in ${(oneIn / 1e9).toPrecision(3)} billion`;
  if (oneIn >= 1e6) return `1 in ${(oneIn / 1e6).toPrecision(3)} million`;
  return `1 in ${Math.round(oneIn).toLocaleString('en')}`;
}
