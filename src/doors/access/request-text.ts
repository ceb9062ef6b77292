import { InvalidRequestError } from '../../core/errors.js';
import { hasUnshowableText, unshowableRule } from '../shared/shown-text.js';

/**
 * Throws a 400 `code` naming `field` when `value` holds a character the pages cannot show as
 * written: a control or text-direction character, or a lone surrogate (`shared/shown-text.ts`,
 * whose rules the device door's client names follow too); `strict`, for the app id, the one name
 * that tells the person who asks, adds the invisible format characters and the blank letters. The
 * request's creator writes these texts, and the pages put them in sentences.
 */
export function checkShownText(value: string | null | undefined, field: string, code: string, strict = false): void {
  if (typeof value !== 'string') return;
  if (hasUnshowableText(value, strict)) {
    throw new InvalidRequestError(`${field} must not contain ${unshowableRule(strict)}: the consent page shows it to the person as written.`, { field }, code);
  }
}

/**
 * The scripts whose letters pass for Latin ones on a page (Cyrillic а, е, о, р, с; Greek ο, ν;
 * Armenian օ; Cherokee Ꭺ): an id mixing one of them with Latin letters reads as another, all-Latin
 * id (UTS #39 calls such a mix not even "moderately restrictive").
 */
const LATIN_LOOK_ALIKE_SCRIPTS = /[\p{Script=Cyrillic}\p{Script=Greek}\p{Script=Armenian}\p{Script=Cherokee}]/u;
const LATIN_LETTER = /\p{Script=Latin}/u;

/**
 * Throws a 400 `code` naming `field` when `value` mixes Latin letters with those of a script that
 * looks like Latin: `bank-аpp` with a Cyrillic а shows on the consent page as the `bank-app` it is
 * not, and the person's yes goes to whoever asked. An id wholly in one script passes.
 */
export function checkOneLookingScript(value: string, field: string, code: string): void {
  if (LATIN_LETTER.test(value) && LATIN_LOOK_ALIKE_SCRIPTS.test(value)) {
    throw new InvalidRequestError(`${field} must not mix Latin letters with Cyrillic, Greek, Armenian or Cherokee ones: the consent page would show it as another app's name.`, { field }, code);
  }
}

/** The scripts of `LATIN_LOOK_ALIKE_SCRIPTS`, one at a time, in the order the consent page names them. */
const LOOK_ALIKE_SCRIPTS = [
  ['Cyrillic', /\p{Script=Cyrillic}/u],
  ['Greek', /\p{Script=Greek}/u],
  ['Armenian', /\p{Script=Armenian}/u],
  ['Cherokee', /\p{Script=Cherokee}/u],
] as const;

/** A script whose letters pass for Latin ones. */
export type LookAlikeScript = (typeof LOOK_ALIKE_SCRIPTS)[number][0];

/**
 * The script whose letters pass for Latin ones that `value` is written in, if any (the first, when
 * several). `checkOneLookingScript` refuses a mix with Latin letters, but an id wholly in such a
 * script passes, and `раураӏ` (all Cyrillic) reads as `paypal`: the consent page says the script
 * beside the name rather than refusing ids in these scripts, which are many apps' real names.
 */
export function lookAlikeScriptOf(value: string): LookAlikeScript | undefined {
  if (!LATIN_LOOK_ALIKE_SCRIPTS.test(value)) return undefined;
  return LOOK_ALIKE_SCRIPTS.find(([, letters]) => letters.test(value))?.[0];
}

/**
 * An optional text field the pages show (the device name), as the app id is read: trimmed, then
 * checked as `checkShownText` checks it. Null when it is absent or null; a 400 `code` naming
 * `field` when it is given but empty once trimmed, since "" or "  " would show as no name at all
 * (an app without one leaves the field out or sends null).
 */
export function optionalShownText(value: string | null | undefined, field: string, code: string): string | null {
  if (typeof value !== 'string') return null;
  const trimmed = value.trim();
  if (trimmed === '') throw new InvalidRequestError(`${field} must not be empty or only spaces: leave it out, or send null, when there is none.`, { field }, code);
  checkShownText(trimmed, field, code);
  return trimmed;
}

/**
 * A language tag as `languageCode` may hold one: a primary language of 2 or 3 letters, or one of 2
 * with a region of 2 (`en`, `fra`, `en-US`, `pt-BR`), any case; at most 5 characters, Pryv's bound.
 */
const LANGUAGE_TAG = /^(?:[a-z]{2,3}|[a-z]{2}-[a-z]{2})$/i;

/**
 * The app's `languageCode`, trimmed; '' when it is absent or blank (none asked). A 400
 * `invalid_language_code` when it is not a language tag (above): the auth page's language is
 * chosen from it, and a tag the pages lack (`de`, `pt-BR`) is passed over for the browser's.
 */
export function readLanguageCode(value: string | null | undefined): string {
  const asked = (value ?? '').trim();
  if (asked !== '' && !LANGUAGE_TAG.test(asked)) {
    throw new InvalidRequestError('languageCode must be a language tag: 2 or 3 letters, optionally a hyphen and a 2-letter region, such as en, fr, en-US or pt-BR.', { field: 'languageCode' }, 'invalid_language_code');
  }
  return asked;
}
