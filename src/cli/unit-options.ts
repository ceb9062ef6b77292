import { InvalidRequestError } from '../core/errors.js';

/**
 * Time and size options given with a unit (`--timeout 5m`, `--dial-timeout 2s`, `--max-size 500M`)
 * or as the plain number each took before units existed (seconds, milliseconds or bytes, as the
 * option says), so scripts written then keep their meaning. Each parser throws InvalidRequestError
 * (exit code 2) with one line naming the option, what was given and what it takes, before any
 * request is made, as `intOption` does.
 *
 * A decimal is taken when it comes to a whole number of the option's own unit (`1.5s` is 1500 ms;
 * `1.5m` is 90 s, but `1.5s` is no whole second): the commands count in whole units, and rounding
 * in silence would wait for something other than what was typed.
 *
 * Arithmetic is on BigInt: `1.1s` in floating point is 1100.0000000000002 ms, and a long row of
 * digits must be refused as too large, never rounded into range.
 */

/**
 * The machine code of a `--ttl` (a lifetime: `grant create`'s, `session create`'s) outside what
 * it takes, the support server's own for a ttl it refuses: one code for the one mistake, whichever
 * command it was typed to.
 */
export const TTL_INVALID_CODE = 'ttl_invalid';

/** The unit an option counts in, which its plain number is: milliseconds or seconds. */
export type TimeBase = 'ms' | 's';

/** Milliseconds in each time unit accepted; `min` is there because the range errors write it. */
const TIME_UNITS: Record<string, bigint> = { ms: 1n, s: 1000n, m: 60_000n, min: 60_000n, h: 3_600_000n };

/** Milliseconds in each base unit, and its name in words. */
const BASES: Record<TimeBase, { ms: bigint; words: string }> = {
  ms: { ms: 1n, words: 'milliseconds' },
  s: { ms: 1000n, words: 'seconds' },
};

/**
 * Bytes in each size unit accepted: `k`, `K`, `KiB`, `M`, `MiB`, `G`, `GiB` count by 1024 (as
 * file sizes are usually shown: 1 GiB is --max-size's default), `kB`, `KB`, `MB`, `GB` by 1000
 * (as disks are sold), `B` is bytes. Nothing else: `m` and `g` (a typo's case), `T` (no payload
 * is that large) and `Kib` (bits) are refused rather than guessed at.
 */
const SIZE_UNITS: Record<string, bigint> = {
  B: 1n,
  k: 1024n, K: 1024n, KiB: 1024n,
  M: 1024n ** 2n, MiB: 1024n ** 2n,
  G: 1024n ** 3n, GiB: 1024n ** 3n,
  kB: 1000n, KB: 1000n, MB: 1000n ** 2n, GB: 1000n ** 3n,
};

/** A number (digits, an optional decimal part), optional spaces, an optional unit. */
const QUANTITY = /^(\d+)(?:\.(\d+))?\s*([A-Za-z]*)$/;

/** A value read: how many of the smallest unit (ms, bytes), or `fraction` when part of one. */
type Scaled = { whole: bigint } | { fraction: true } | undefined;

/**
 * `text` ("1.5", "2s") read as a count of the smallest unit in `units` (ms or bytes): undefined when
 * it is no number or names no unit there; `fraction` when it comes to part of one. A number
 * without a unit is in `plain` of them.
 */
function scaled(text: string, units: Record<string, bigint>, plain: bigint): Scaled {
  const match = QUANTITY.exec(text.trim());
  if (!match) return undefined;
  const [, whole, decimals = '', unit] = match;
  const perUnit = unit === '' ? plain : units[unit!];
  if (perUnit === undefined) return undefined;
  const scale = 10n ** BigInt(decimals.length);
  const total = BigInt(whole! + decimals) * perUnit;
  return total % scale === 0n ? { whole: total / scale } : { fraction: true };
}

/**
 * `amount` of `base` (60 s, 120000 ms) in the largest unit that holds it whole: "1 min", "2 min",
 * "100 ms", "24 h". Each is also a value the options take (quoted, for the space).
 */
export function timeWords(amount: number, base: TimeBase): string {
  const ms = BigInt(amount) * BASES[base].ms;
  for (const [unit, size] of [['h', 3_600_000n], ['min', 60_000n], ['s', 1000n]] as const) {
    if (ms !== 0n && ms % size === 0n) return `${ms / size} ${unit}`;
  }
  return base === 's' && ms === 0n ? '0 s' : `${ms} ms`;
}

/** `bytes` in the largest 1024-based unit that holds it whole: "1 GiB", "500 MiB", "1000 bytes". */
export function sizeWords(bytes: number): string {
  const n = BigInt(bytes);
  for (const [unit, size] of [['GiB', SIZE_UNITS.GiB!], ['MiB', SIZE_UNITS.MiB!], ['KiB', SIZE_UNITS.KiB!]] as const) {
    if (n !== 0n && n % size === 0n) return `${n / size} ${unit}`;
  }
  return `${n} ${n === 1n ? 'byte' : 'bytes'}`;
}

/** "from 100 ms to 2 min", or "10 s or more" when the option has no upper bound of its own. */
function rangeWords(min: number, max: number, words: (n: number) => string): string {
  return max >= Number.MAX_SAFE_INTEGER ? `${words(min)} or more` : `from ${words(min)} to ${words(max)}`;
}

/** What "takes a time ..." says of the range: " from 1 s to 10 min", " of at least 10 s", or nothing. */
function takesWords(min: number, max: number, words: (n: number) => string): string {
  if (max < Number.MAX_SAFE_INTEGER) return ` ${rangeWords(min, max, words)}`;
  return min > 0 ? ` of at least ${words(min)}` : '';
}

/**
 * The error for a value past what a number holds exactly: the range when the option has one, else
 * the largest number counted (an option without a bound of its own would otherwise say "0 or more").
 */
function tooLarge(name: string, value: string, range: string, max: number, words: string): InvalidRequestError {
  return new InvalidRequestError(max >= Number.MAX_SAFE_INTEGER
    ? `${name}: "${value}" is more than pairgate can count (at most ${Number.MAX_SAFE_INTEGER} ${words}).`
    : `${name} must be ${range}; "${value}" is far more.`);
}

/**
 * A time option (`--timeout 5m`, `--dial-timeout 1500ms`, `--timeout 90`) as a whole number of
 * `base` (seconds or milliseconds) from `min` to `max` of it, or an error naming `name`. Units:
 * `ms`, `s`, `m` (or `min`), `h`; a decimal when it comes to whole `base` units (`1.5s` for a
 * millisecond option, `1.5m` for a second one). A plain number is in `plain`, by default `base`:
 * an option that once took whole seconds and now counts milliseconds (`lan nearby --duration`)
 * keeps `10` meaning ten seconds for the scripts written then. Undefined when not given.
 * `rangeCode` is the machine code of an out-of-range refusal, where the server has its own for it.
 */
export function timeOption(value: string | undefined, name: string, base: TimeBase, min: number, max: number, rangeCode?: string, plain: TimeBase = base): number | undefined {
  if (value === undefined) return undefined;
  const { ms: perBase, words } = BASES[base];
  const range = rangeWords(min, max, (n) => timeWords(n, base));
  const read = scaled(value, TIME_UNITS, BASES[plain].ms);
  if (read === undefined) {
    const example = base === 'ms' ? '1500ms or 2s' : '90s or 5m';
    throw new InvalidRequestError(`${name} takes a time${takesWords(min, max, (n) => timeWords(n, base))}: a number with ms, s, m or h (e.g. ${example}), or a plain number of ${BASES[plain].words}; "${value}" is not one.`);
  }
  if ('fraction' in read || read.whole % perBase !== 0n) {
    const example = base === 'ms' ? '1.5s' : '1.5m';
    throw new InvalidRequestError(`${name} takes whole ${words}: "${value}" is not (a decimal is fine when it comes to whole ${words}, e.g. ${example}).`);
  }
  const amount = read.whole / perBase;
  if (amount > BigInt(Number.MAX_SAFE_INTEGER)) throw tooLarge(name, value, range, max, words);
  if (amount < BigInt(min) || amount > BigInt(max)) throw new InvalidRequestError(`${name} must be ${range}; "${value}" is ${timeWords(Number(amount), base)}.`, undefined, rangeCode);
  return Number(amount);
}

/**
 * A size option (`--max-size 500M`, `--max-size 2GB`, `--max-size 1048576`) as a whole number of
 * bytes from `min` to `max`, or an error naming `name`. A plain number is bytes; units are those of
 * SIZE_UNITS (k/K/KiB, M/MiB, G/GiB by 1024; kB/KB, MB, GB by 1000; B); a decimal when it comes to
 * whole bytes (`1.5G`). Undefined when not given.
 */
export function sizeOption(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const range = rangeWords(min, max, sizeWords);
  const read = scaled(value, SIZE_UNITS, 1n);
  if (read === undefined) {
    throw new InvalidRequestError(`${name} takes a size${takesWords(min, max, sizeWords)}: a plain number of bytes, or a number with K, M or G (KiB, MiB, GiB: by 1024) or KB, MB or GB (by 1000), e.g. 500M or 2GB; "${value}" is not one.`);
  }
  if ('fraction' in read) throw new InvalidRequestError(`${name} takes whole bytes: "${value}" is not (a decimal is fine when it comes to whole bytes, e.g. 1.5G).`);
  if (read.whole > BigInt(Number.MAX_SAFE_INTEGER)) throw tooLarge(name, value, range, max, 'bytes');
  if (read.whole < BigInt(min) || read.whole > BigInt(max)) throw new InvalidRequestError(`${name} must be ${range}; "${value}" is ${sizeWords(Number(read.whole))}.`);
  return Number(read.whole);
}
