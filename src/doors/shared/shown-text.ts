/**
 * Names written by someone else that pairgate's pages put in sentences for a person to decide on:
 * an app id, a device name and the permissions' names (the access door), a device client's display
 * name (the device door). The rules live here once, so a name one door refuses the other refuses too.
 */

/**
 * Characters no such name may hold, as a character class's inside (for a `u` regular expression,
 * or a JSON Schema pattern, which Ajv compiles with `u`): control characters (C0, DEL, C1), the
 * bidirectional controls (Arabic letter mark, LRM/RLM, embeddings, overrides, isolates), and lone
 * surrogates. An unterminated U+202E in an app id turned "evil-app ... asks for access to your
 * account" around, so the page named an app that does not exist, read right to left, and reversed
 * pairgate's own words after it; a NUL in a text column is refused by PostgreSQL; and a lone
 * surrogate is no character at all (a JSON body cannot bring one in any more, but
 * PAIRGATE_DEVICE_CLIENTS is read with JSON.parse, which makes one of `"\ud800"`).
 */
export const UNSHOWABLE_CLASS = '\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\p{Cs}';

/**
 * Also refused in a name that tells the person who asks (an app id, a device client's name):
 * invisible format characters (zero-width spaces and joiners, soft hyphen, word joiner, BOM...),
 * with which "my-bank" and "my\u200b-bank" look alike on the page but are two apps, every other
 * character Unicode says a renderer may show as nothing (Default_Ignorable_Code_Point: the
 * combining grapheme joiner U+034F, variation selectors, Mongolian and Khmer marks that draw
 * nothing), and the letters that draw nothing (Hangul fillers, the blank Braille pattern), of
 * which a name that shows as no name at all can be made.
 */
export const INVISIBLE_CLASS = '\\p{Cf}\\p{Default_Ignorable_Code_Point}\\u115f\\u1160\\u3164\\uffa0\\u2800';

const UNSHOWABLE = new RegExp(`[${UNSHOWABLE_CLASS}]`, 'u');
const UNSHOWABLE_OR_INVISIBLE = new RegExp(`[${UNSHOWABLE_CLASS}${INVISIBLE_CLASS}]`, 'u');

/**
 * Emoji sequences, which hold invisible characters that make one picture of what they join: a
 * zero-width joiner between two pictographs (the family 👨‍👩‍👧), the emoji or text presentation
 * selector after one (❤️), a keycap (1️⃣). Each is taken as one visible character by the strict
 * check, so a name may hold them; a joiner or selector anywhere else (`my\u200d-bank`, one left
 * at the end of a name) is still refused.
 */
const EMOJI_SEQUENCE = /\p{Extended_Pictographic}(?:\p{Emoji_Modifier}|[\uFE0E\uFE0F])?(?:\u200D\p{Extended_Pictographic}(?:\p{Emoji_Modifier}|[\uFE0E\uFE0F])?)*|[0-9#*]\uFE0F\u20E3/gu;

/**
 * Whether `value` holds a character the pages cannot show as written (`UNSHOWABLE_CLASS`);
 * `strict`, for a name that says who asks, adds the invisible ones (`INVISIBLE_CLASS`), outside
 * emoji sequences (`EMOJI_SEQUENCE`).
 */
export function hasUnshowableText(value: string, strict = false): boolean {
  if (!strict) return UNSHOWABLE.test(value);
  const pictures = value.replace(EMOJI_SEQUENCE, '*');
  return UNSHOWABLE_OR_INVISIBLE.test(pictures) || STACKED_MARKS.test(pictures);
}

const UNSHOWABLE_ALL = new RegExp(`[${UNSHOWABLE_CLASS}]`, 'gu');

/**
 * `value` without the characters `hasUnshowableText` refuses (`UNSHOWABLE_CLASS`), for a name
 * pairgate keeps though it cannot refuse it, since refusing would refuse the person behind it too
 * (a chat user's name, relayed by their chat): an override then turns nothing around, and a
 * line break or NUL goes.
 */
export function withoutUnshowableText(value: string): string {
  return value.replace(UNSHOWABLE_ALL, '');
}

/**
 * More than three combining marks on one character: no language's writing needs more (Vietnamese
 * stacks two), and a pile of them draws over the lines around the name ("zalgo" text).
 */
export const STACKED_MARKS_SOURCE = '\\p{M}{4}';
const STACKED_MARKS = new RegExp(STACKED_MARKS_SOURCE, 'u');

/** What `hasUnshowableText` refuses, said to people (the end of "... must not contain ..."). */
export function unshowableRule(strict = false): string {
  return strict
    ? 'control, invisible or text-direction characters (such as U+0000, U+200B or U+202E) or more than three accents on one letter'
    : 'control or text-direction characters (such as U+0000 or U+202E)';
}
