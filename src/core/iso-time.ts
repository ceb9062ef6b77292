/**
 * Instants as ISO 8601 text (`2026-12-03T04:35:11.441Z`), exactly as `Date.prototype.toISOString`
 * writes them, for the answers that carry them on every request. On Node 20, `toISOString` costs
 * about 600 ns a call (measured), and creating a grant answered two of them: a tenth of the
 * difference between pairgate's creation and its benchmark floor. Instants in one request are
 * nearly always in the same second as the last one formatted, so the text up to the second is kept
 * and only the milliseconds are written.
 */

/** Milliseconds of 10000-01-01T00:00:00Z: from there on, toISOString writes a six-digit year. */
const YEAR_10000_MS = 253_402_300_800_000;

/** The second whose text `secondText` holds (ms since the epoch / 1000), NaN before the first call. */
let cachedSecond = Number.NaN;
/** `toISOString()` of `cachedSecond`, up to and including the dot before the milliseconds. */
let secondText = '';

/**
 * `new Date(ms).toISOString()`, written from a cache of the last second formatted. Instants before
 * 1970 or after year 9999, and those that are not a time at all (NaN, Infinity), take toISOString
 * itself, which also throws the RangeError it throws for the latter.
 *
 * @param ms milliseconds since the Unix epoch; a fraction is dropped, as `new Date(ms)` drops it.
 */
export function isoTime(ms: number): string {
  // As `new Date(ms)` (TimeClip): a fraction is cut off towards zero.
  const whole = Math.trunc(ms);
  if (!(whole >= 0 && whole < YEAR_10000_MS)) return new Date(ms).toISOString();
  const second = Math.floor(whole / 1000);
  if (second !== cachedSecond) {
    secondText = new Date(second * 1000).toISOString().slice(0, 20);
    cachedSecond = second;
  }
  const milliseconds = whole - second * 1000;
  return `${secondText}${milliseconds < 10 ? '00' : milliseconds < 100 ? '0' : ''}${milliseconds}Z`;
}
