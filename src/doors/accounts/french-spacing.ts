/**
 * French typography for the message catalogues: French puts a space before `:`, `;`, `?` and `!`
 * and inside « », and that space must not break, or the mark wraps alone onto the next line of a
 * narrow screen.
 *
 * The space is U+00A0 (no-break space), not U+202F (narrow no-break space, the typographers'
 * "espace fine" before `;`, `?` and `!`): every font has U+00A0, so it never shows as a box or in a
 * fallback font, in a page or in the plain-text reset mail read in any client; and French asks a
 * full-width space before `:` and inside « » anyway. One character everywhere keeps the
 * catalogues consistent and the test over them simple.
 *
 * The catalogues are written with plain spaces, which read and review well, and pass through
 * `frenchSpacing` once: a message added later cannot forget it.
 */

/** The no-break space French punctuation takes. */
export const FRENCH_SPACE = '\u00a0';

/** Breakable white space before `:;?!»` or after `«`: what `frenchSpacing` replaces. */
const BREAKABLE_BEFORE_MARK = /[ \t]+(?=[:;?!»])/g;
const BREAKABLE_AFTER_GUILLEMET = /(?<=«)[ \t]+/g;

/** `text` with the space before `:;?!»` and after `«` made a no-break space. */
export function frenchSpacing(text: string): string {
  return text.replace(BREAKABLE_BEFORE_MARK, FRENCH_SPACE).replace(BREAKABLE_AFTER_GUILLEMET, FRENCH_SPACE);
}

/** A French catalogue with `frenchSpacing` applied to every message. */
export function frenchCatalogue<K extends string>(messages: Record<K, string>): Record<K, string> {
  return Object.fromEntries(Object.entries<string>(messages).map(([key, text]) => [key, frenchSpacing(text)])) as Record<K, string>;
}
