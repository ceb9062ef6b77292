import type { PageLanguage } from './page-language.js';

/**
 * Durations in words, in every page language: how long to wait before trying again (a rate
 * limit's Retry-After) and how long something lives (a link token). Pages, chat messages and
 * errors all say them here, so "1 minutes", a wait rounded down, or an English unit on a French
 * page cannot come back in one place only.
 *
 * Counts and their plurals come from `Intl.NumberFormat` with the unit style (CLDR's rules: French
 * says "0 minute" and "1,5 minute", English "0 minutes"), not from a table of our own.
 */

/** The units durations are said in: minutes at most, as every duration pairgate says is under a few hours. */
export type DurationUnit = 'second' | 'minute';

/** A duration rounded to a whole number of one unit. */
export interface RoundedDuration {
  count: number;
  unit: DurationUnit;
}

/**
 * A wait of `seconds` as a whole number of seconds or minutes, rounded up: under a minute in
 * seconds (at least 1), else in minutes (61 s is 2 minutes). With `smallest: 'minute'`, a wait
 * under a minute is 1 minute.
 */
export function roundWait(seconds: number, smallest: DurationUnit = 'second'): RoundedDuration {
  const whole = Math.max(0, Math.ceil(seconds));
  if (whole < 60 && smallest === 'second') return { count: Math.max(1, whole), unit: 'second' };
  return { count: Math.max(1, Math.ceil(whole / 60)), unit: 'minute' };
}

/**
 * A lifetime of `seconds` as a whole number of seconds or minutes, never more than there is:
 * whole minutes in minutes; anything else under ten minutes in seconds (90 s stays 90 seconds
 * rather than "1 minute", or "2 minutes", which is more time than there is); from ten minutes on,
 * minutes rounded down (the seconds past them no longer matter to a person).
 */
export function roundLifetime(seconds: number): RoundedDuration {
  const whole = Math.max(0, Math.floor(seconds));
  if ((whole % 60 === 0 && whole > 0) || whole >= 600) return { count: Math.floor(whole / 60), unit: 'minute' };
  return { count: whole, unit: 'second' };
}

const FORMATS = new Map<string, Intl.NumberFormat>();

/**
 * `count unit` in `lang` ("5 minutes", "30 secondes"), from Intl. French puts a no-break space
 * between the two; it is made a plain space so the words read and match alike in a page, a chat
 * message or a terminal, in every language.
 */
export function countWords({ count, unit }: RoundedDuration, lang: PageLanguage): string {
  const key = `${lang}:${unit}`;
  let format = FORMATS.get(key);
  if (!format) {
    format = new Intl.NumberFormat(lang, { style: 'unit', unit, unitDisplay: 'long' });
    FORMATS.set(key, format);
  }
  return format.format(count).replace(/[\u00a0\u202f]/g, ' ');
}

/** One unit with its article, as a wait is said ("wait a minute"): Intl has numerals only. */
const ONE: Record<PageLanguage, Record<DurationUnit, string>> = {
  en: { second: 'a second', minute: 'a minute' },
  fr: { second: 'une seconde', minute: 'une minute' },
};

/**
 * A wait in words, rounded up (waiting a little longer than needed costs a person little; less
 * makes them fail again): 'a second', '30 seconds', 'a minute', '5 minutes' (French: 'une
 * seconde', '30 secondes', 'une minute', '5 minutes'). One unit takes its article, as people say
 * it ("try again in a minute").
 */
export function waitWords(seconds: number, lang: PageLanguage, smallest: DurationUnit = 'second'): string {
  const rounded = roundWait(seconds, smallest);
  return rounded.count === 1 ? ONE[lang][rounded.unit] : countWords(rounded, lang);
}

/**
 * A lifetime in words, rounded down (more time than there is makes a person miss it): '5 minutes', '1 minute', '30 seconds', '90 seconds',
 * '10 minutes' for 630 s. Numerals throughout, as a deadline is read ("works for 1 minute").
 */
export function lifetimeWords(seconds: number, lang: PageLanguage): string {
  return countWords(roundLifetime(seconds), lang);
}
