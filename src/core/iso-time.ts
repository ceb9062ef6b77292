/**
 * Instants as ISO 8601 text (`2026-12-03T04:35:11.441Z`), exactly as `Date.prototype.toISOString`
 * writes them, for the answers that carry them on every request. On Node 20, `toISOString` costs
 * about 600 ns a call (measured), and creating a grant answered two of them: a tenth of the
 * difference between pairgate's creation and its benchmark floor. Instants in one request are
 * nearly always in one of a few seconds (a grant's creation and its expiry, minutes later, in the
 * same answer), so the text up to the second is kept for the last few seconds formatted and only
 * the milliseconds are written.
 */

/** Milliseconds of 10000-01-01T00:00:00Z: from there on, toISOString writes a six-digit year. */
const YEAR_10000_MS = 253_402_300_800_000;

/**
 * How many seconds' texts are kept. One is not enough: an answer with a creation time and an
 * expiry alternates between two seconds, and a one-entry cache then misses on every call.
 */
const SLOTS = 4;
/** The seconds (ms since the epoch / 1000) whose texts are cached, NaN for an empty slot. */
const cachedSeconds = new Float64Array(SLOTS).fill(Number.NaN);
/** `toISOString()` of each cached second, up to and including the dot before the milliseconds. */
const secondTexts: string[] = new Array<string>(SLOTS).fill('');
/** The slot the next second not cached replaces (round robin: the oldest one filled). */
let nextSlot = 0;

/** The text of `second` up to the milliseconds, from the cache or formatted into it. */
function secondText(second: number): string {
  for (let slot = 0; slot < SLOTS; slot++) {
    if (cachedSeconds[slot] === second) return secondTexts[slot]!;
  }
  const text = new Date(second * 1000).toISOString().slice(0, 20);
  cachedSeconds[nextSlot] = second;
  secondTexts[nextSlot] = text;
  nextSlot = (nextSlot + 1) % SLOTS;
  return text;
}

/**
 * `new Date(ms).toISOString()`, written from a cache of the last seconds formatted. Instants before
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
  const milliseconds = whole - second * 1000;
  return `${secondText(second)}${milliseconds < 10 ? '00' : milliseconds < 100 ? '0' : ''}${milliseconds}Z`;
}
