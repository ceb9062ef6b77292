import { InvalidRequestError } from '../../core/errors.js';
import { hasUnshowableText, unshowableRule } from '../../doors/shared/shown-text.js';

/**
 * The longest box name a registry takes, in characters (Unicode code points): the structured
 * announcement's `name` (`maxLength` of `StructuredRegisterBody`, `src/doors/registry/schemas.ts`).
 */
export const MAX_BOX_NAME = 100;

/**
 * A box's name given on the command line (`box announce --name`, `box advertise --name`), checked
 * before anything is sent, against the rule a registry holds it to (`announcement-check.ts`: the
 * strict rule of `shown-text.ts`, at most {@link MAX_BOX_NAME} characters). The name is shown
 * beside the box's fingerprint to people deciding which box to trust, where "Kitchen" and
 * "Kitc\u200bhen" look alike. Unchecked, `box announce` sent it every minute, and every
 * announcement was refused (400 validation_failed) while the command ran on; `box advertise` sent
 * on the local network a name the registry would not list.
 *
 * @param option the option as the error names it (`--name`)
 * @param registryLength whether to hold it to the registry's length too: mDNS (`box advertise`)
 *   takes a longer one, cut between characters (`advertiseBox`)
 * @returns the name as given
 * @throws InvalidRequestError (exit code 2) naming the option, the rule and where the name breaks it
 */
export function boxNameOption(value: string, option: string, registryLength = true): string {
  if (hasUnshowableText(value, true)) {
    const where = firstUnshowable(value);
    throw new InvalidRequestError(`${option}: the box's name must not contain ${unshowableRule(true)}${where}: it is shown to people beside the box's fingerprint, and a registry refuses it (validation_failed). Name the box with visible characters only.`);
  }
  const length = [...value].length;
  if (registryLength && length > MAX_BOX_NAME) {
    throw new InvalidRequestError(`${option}: the box's name has ${length} characters; a registry takes at most ${MAX_BOX_NAME} (validation_failed). Give a shorter one.`);
  }
  return value;
}

/**
 * Where `value` breaks the strict rule, as " (U+200B after "Kitc")", or '' when no one character
 * does alone. Told character by character (grapheme clusters): an emoji sequence, whose joiners
 * the rule lets through, is one, and a letter with its accents is one. The characters themselves
 * are not repeated: an invisible one would not show, and a text-direction one would turn the line
 * around.
 */
function firstUnshowable(value: string): string {
  // Every character before the one told passed the rule: shown as they are (the last 20 at most).
  const before: string[] = [];
  for (const { segment } of new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(value)) {
    if (hasUnshowableText(segment, true)) {
      const codes = [...segment].map((char) => `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`).join(' ');
      return before.length === 0 ? ` (${codes} at its start)` : ` (${codes} after "${before.slice(-20).join('')}")`;
    }
    before.push(segment);
  }
  return '';
}
