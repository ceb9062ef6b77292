import { InvalidRequestError } from '../../core/errors.js';

/**
 * Characters the consent and sign-in pages must never show from an app: control characters (C0,
 * DEL, C1) and the bidirectional controls (embeddings, overrides, isolates, marks). The request's
 * creator writes the app id, the device name and the permissions' names, and the pages put them in
 * sentences: an unterminated U+202E in `requestingAppId` turned "evil-app ... asks for access to
 * your account" around, so the page named an app that does not exist, read right to left, and
 * reversed pairgate's own words after it. No app id or stream name needs them, and a NUL in a text
 * column is refused by PostgreSQL.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSHOWABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

/**
 * Also refused in the app id, the one name that tells the person who asks: invisible format
 * characters (zero-width spaces and joiners, soft hyphen, word joiner, BOM...), with which
 * "my-bank" and "my\u200b-bank" look alike on the page but are two apps with two sets of accesses,
 * and the letters that draw nothing (Hangul fillers, the blank Braille pattern), of which an app id
 * that shows as no name at all can be made.
 */
const INVISIBLE = /[\p{Cf}\u115f\u1160\u3164\uffa0\u2800]/u;

/**
 * Throws a 400 `code` naming `field` when `value` holds a character the pages cannot show as
 * written (above); `strict` adds the invisible format characters.
 */
export function checkShownText(value: string | null | undefined, field: string, code: string, strict = false): void {
  if (typeof value !== 'string') return;
  if (UNSHOWABLE.test(value) || (strict && INVISIBLE.test(value))) {
    const which = strict ? 'control, invisible or text-direction characters (such as U+0000, U+200B or U+202E)' : 'control or text-direction characters (such as U+0000 or U+202E)';
    throw new InvalidRequestError(`${field} must not contain ${which}: the consent page shows it to the person as written.`, { field }, code);
  }
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
