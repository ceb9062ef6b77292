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
