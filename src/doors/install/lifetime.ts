import type { Lang } from '../accounts/i18n.js';

const UNITS: Record<Lang, { minute: [string, string]; second: [string, string] }> = {
  en: { minute: ['minute', 'minutes'], second: ['second', 'seconds'] },
  fr: { minute: ['minute', 'minutes'], second: ['seconde', 'secondes'] },
};

/**
 * How long a link token lives, in words: `5 minutes`, `1 minute`, `30 seconds`, `90 seconds`.
 * Whole minutes are said in minutes; anything else under ten minutes in seconds, since rounding
 * 30 seconds to "1 minutes" tells a person they have twice the time they have.
 */
export function lifetimeText(seconds: number, lang: Lang = 'en'): string {
  const units = UNITS[lang];
  const count = (n: number, [one, many]: [string, string]) => `${n} ${n === 1 ? one : many}`;
  if (seconds % 60 === 0 || seconds >= 600) return count(Math.max(1, Math.floor(seconds / 60)), units.minute);
  return count(seconds, units.second);
}
