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

/** The units durations are said in: seconds and minutes for waits and short lifetimes, hours and days for long spans. */
export type DurationUnit = 'second' | 'minute' | 'hour' | 'day';

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
  en: { second: 'a second', minute: 'a minute', hour: 'an hour', day: 'a day' },
  fr: { second: 'une seconde', minute: 'une minute', hour: 'une heure', day: 'un jour' },
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

/** The units a long span is said in, largest first, with their length in seconds. */
const SPAN_UNITS = [['day', 86_400], ['hour', 3600], ['minute', 60]] as const;

/**
 * A long span (an access that ends after hours or days) in the largest unit it reaches, rounded
 * to the nearest whole one and at least 1 minute: '2 days', '3 hours', '1 minute'. `exact` says
 * whether that is the span itself, so a page can say "about" when it is not.
 */
export function spanWords(seconds: number, lang: PageLanguage): { words: string; exact: boolean } {
  const [unit, size] = SPAN_UNITS.find(([, length]) => seconds >= length) ?? SPAN_UNITS[2];
  const count = Math.max(1, Math.round(seconds / size));
  return { words: countWords({ count, unit }, lang), exact: seconds === count * size };
}
