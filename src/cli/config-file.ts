import type { ConfigFile } from '../server/config-file.js';
import type { ConfigSection } from '../server/config-schema.js';
import { unknownKeyWarnings } from '../server/config-warnings.js';

/**
 * What `serve` says of its `--config` file beyond what loading it refuses (a line that is not
 * KEY=value, another encoding than UTF-8: `src/server/config-file.ts`): what the server still
 * starts with but a person most likely did not mean, which is otherwise taken without a word.
 */

/** "2 and 7", "2, 5 and 7". */
function listed(numbers: readonly number[]): string {
  return numbers.length < 2 ? numbers.join('') : `${numbers.slice(0, -1).join(', ')} and ${String(numbers.at(-1))}`;
}

/**
 * Warns on stderr (the server still starts) of each `PAIRGATE_` and `PLEXUS_` key of `file` that
 * `sections` do not declare, suggesting the key meant (other keys may belong to another program
 * sharing the file: the seed's plexus.config), and of each key `sections` declare that the file
 * sets on several lines (the last one counts, which an edit at the top of the file then misses).
 */
export function warnOfFileKeys(file: ConfigFile, sections: readonly ConfigSection[]): void {
  const known = sections.flatMap((section) => Object.keys(section.properties));
  const warnings = unknownKeyWarnings(Object.keys(file.values), known, ['PAIRGATE_', 'PLEXUS_']);
  for (const { key, lines } of file.repeated ?? []) {
    if (known.includes(key)) warnings.push(`${key} is set on lines ${listed(lines)}: line ${String(lines.at(-1))} counts; remove the others`);
  }
  for (const warning of warnings) console.error(`pairgate: warning: --config: ${file.path}: ${warning}`);
}
