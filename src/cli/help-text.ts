import type { Option } from 'commander';

/**
 * An option's text in --help, its default said the one way every text of src/cli says one:
 * "(default: X)", or "(PAIRGATE_X, default: X)" after the environment variable it comes from.
 * Commander's own wording quotes a text default ('(default: "60")') and puts it in a parenthesis of
 * its own after the variable's.
 */
export function optionDescription(option: Option): string {
  const value: unknown = option.defaultValue;
  const shown = option.defaultValueDescription ?? (typeof value === 'string' || typeof value === 'number' ? String(value) : undefined);
  // A flag's false or true default is for the code, not the reader (commander hides it too).
  if (!(option.required || option.optional) || !shown) return option.description;
  const variable = /^(.*) \(([A-Z][A-Z0-9_]*)\)$/s.exec(option.description);
  return variable ? `${variable[1]} (${variable[2]}, default: ${shown})` : `${option.description} (default: ${shown})`;
}

/** Columns of the paragraphs pairgate adds to --help: they read whole in an 80-column terminal. */
export const HELP_TEXT_WIDTH = 80;

/**
 * `text` wrapped as one paragraph, each line as full as `width` allows: for a paragraph put
 * together from shared pieces (the lan commands' session failures, the session commands' relay),
 * each wrapped on its own, which left a short line where two met.
 */
export function helpParagraph(text: string, width = HELP_TEXT_WIDTH): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.trim().split(/\s+/)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines.join('\n');
}
