import { ConfigError } from '../core/errors.js';
import type { ConfigSection } from '../server/config-schema.js';

/**
 * Checks of a `serve --config` file as parsed (util.parseEnv), for the mistakes a person makes
 * writing one that the parser lets pass without a word.
 */

/** A key as dotenv files write them; parseEnv's keys are anything before an `=`. */
const KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/**
 * Refuses a file with a line that is not KEY=value: parseEnv joins such a line to the key of the
 * next one ("garbage\nPAIRGATE_PORT"), so the setting written there would be silently lost.
 */
function checkLines(path: string, values: Record<string, string>): void {
  for (const key of Object.keys(values)) {
    if (KEY.test(key)) continue;
    const lines = key.split('\n').map((line) => line.trim());
    const bad = lines.find((line) => !KEY.test(line)) ?? key;
    const hidden = lines.length > 1 && KEY.test(lines.at(-1)!) ? ` (it hides the ${lines.at(-1)!} line after it)` : '';
    throw new ConfigError('--config', `${path}: "${bad}" is not a KEY=value line${hidden}; fix it or comment it out with #`);
  }
}

/**
 * The pairgate keys of the file that no configuration section declares: most likely misspelt, and
 * ignored. Other keys may belong to another program sharing the file (the seed's plexus.config).
 */
function unknownKeys(values: Record<string, string>, sections: readonly ConfigSection[]): string[] {
  const known = new Set(sections.flatMap((section) => Object.keys(section.properties)));
  return Object.keys(values).filter((key) => /^(PAIRGATE|PLEXUS)_/.test(key) && !known.has(key));
}

/**
 * Refuses a file that loses a line, and warns on stderr (the server still starts) of each key that
 * `sections` do not declare.
 */
export function checkConfigFile(path: string, values: Record<string, string>, sections: readonly ConfigSection[]): void {
  checkLines(path, values);
  for (const key of unknownKeys(values, sections)) {
    console.error(`pairgate: warning: --config: ${path}: ${key} is not a configuration key and is ignored (misspelt? see serve --help-config)`);
  }
}
