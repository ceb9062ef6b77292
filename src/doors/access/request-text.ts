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
