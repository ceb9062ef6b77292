import { lifetimeWords } from '../../web/duration-words.js';
import type { Lang } from '../accounts/i18n.js';

/**
 * How long a link token lives, in words: `5 minutes`, `1 minute`, `30 seconds`, `90 seconds`.
 * Rounded down as every lifetime is (`lifetimeWords`), since rounding 30 seconds to "1 minute"
 * tells a person they have twice the time they have.
 */
export function lifetimeText(seconds: number, lang: Lang = 'en'): string {
  return lifetimeWords(seconds, lang);
}
