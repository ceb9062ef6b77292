import type { ConfigFile } from '../server/config-file.js';
import type { ConfigSection } from '../server/config-schema.js';
import { unknownKeyWarnings } from '../server/config-warnings.js';

/**
 * What `serve` says of its `--config` file beyond what loading it refuses (a line that is not
 * KEY=value, another encoding than UTF-8: `src/server/config-file.ts`): the pairgate keys no
 * section declares, which are otherwise ignored without a word.
 */

/**
 * Warns on stderr (the server still starts) of each `PAIRGATE_` and `PLEXUS_` key of `file` that
 * `sections` do not declare, suggesting the key meant. Other keys may belong to another program
 * sharing the file (the seed's plexus.config).
 */
export function warnOfUnknownFileKeys(file: ConfigFile, sections: readonly ConfigSection[]): void {
  const known = sections.flatMap((section) => Object.keys(section.properties));
  for (const warning of unknownKeyWarnings(Object.keys(file.values), known, ['PAIRGATE_', 'PLEXUS_'])) {
    console.error(`pairgate: warning: --config: ${file.path}: ${warning}`);
  }
}
