import { parseEnv } from 'node:util';
import { ConfigError } from '../core/errors.js';
import type { ConfigSection } from '../server/config-schema.js';
import { unknownKeyWarnings } from '../server/config-warnings.js';

/**
 * Checks of a `serve --config` file, for the mistakes a person makes writing one that the parser
 * (util.parseEnv) lets pass without a word: a line that is not KEY=value is joined to the key of
 * the next one ("garbage\nPAIRGATE_PORT"), so the setting written there is lost, or, on the last
 * line, dropped. Each line is read here the way parseEnv reads it, to name the one at fault.
 */

/** A key as dotenv files write them; parseEnv's keys are anything before an `=`. */
const KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** A line the parser would not read as a setting, a comment or an empty line. */
interface BadLine {
  /** 1-based, as editors count. */
  number: number;
  /** What is wrong, in words, without the value (it may be a secret). */
  why: string;
}

/** parseEnv trims spaces only: a tab, or a line of blanks, is text to it. */
const trimSpaces = (text: string): string => text.replace(/^ +| +$/g, '');

/**
 * What is wrong with `line` (with no `=` in it, or a bad key before the first one), or undefined
 * when it is a setting, a comment or empty.
 */
function lineProblem(line: string): string | undefined {
  if (line === '' || line.startsWith('#')) return undefined;
  if (/^[ \t]+$/.test(line)) return 'holds only spaces or tabs: leave it empty';
  if (/^[ \t]+#/.test(line)) return 'is a comment that does not start the line: remove the blanks before #';
  const equal = line.indexOf('=');
  // A YAML-style "KEY: value" would show its value: only what comes before the colon is told.
  if (equal < 0) return `${JSON.stringify(line.replace(/:.*/, ': ...'))} is not a KEY=value line`;
  const key = trimSpaces(trimSpaces(line.slice(0, equal)).replace(/^export /, ''));
  if (!KEY.test(key)) return `${JSON.stringify(key)} is not a key (letters, digits and _, not starting with a digit)`;
  return undefined;
}

/**
 * The index of the last line of the setting that starts on line `index`: a value opened with a
 * quote runs on to the line holding the same quote again, if any (parseEnv's multi-line values).
 */
function settingEnd(lines: readonly string[], index: number): number {
  const value = trimSpaces(lines[index]!.slice(lines[index]!.indexOf('=') + 1));
  const quote = value[0];
  if (quote !== '"' && quote !== "'" && quote !== '`') return index;
  if (value.indexOf(quote, 1) > 0) return index;
  for (let next = index + 1; next < lines.length; next++) {
    if (lines[next]!.includes(quote)) return next;
  }
  return index;
}

/** The first line of `text` that is not KEY=value, a comment or empty, if any. */
function findBadLine(text: string): BadLine | undefined {
  // parseEnv drops every \r, and then reads lines between \n.
  const lines = text.replaceAll('\r', '').split('\n');
  for (let index = 0; index < lines.length; index++) {
    const why = lineProblem(lines[index]!);
    if (why) return { number: index + 1, why };
    if (lines[index]!.includes('=') && !lines[index]!.startsWith('#')) index = settingEnd(lines, index);
  }
  return undefined;
}

/**
 * Refuses a file with a line that is not KEY=value, naming the file and the line, wherever the line
 * is (parseEnv hides the setting after it, or drops it when it is the last).
 */
function checkLines(path: string, text: string): void {
  const bad = findBadLine(text);
  if (bad) throw new ConfigError('--config', `${path}, line ${bad.number}: ${bad.why}; fix it or comment it out with #`);
  // Should this reading and parseEnv's ever part (another Node), a key glued to a line before it
  // still stops the start rather than losing a setting. A commented last line with an = in it and
  // no newline after it comes back as a key "#..." of its own, which hides nothing.
  const glued = Object.keys(parseEnv(text)).find((key) => !KEY.test(key) && !/^#[^\n]*$/.test(key));
  if (glued !== undefined) throw new ConfigError('--config', `${path}: a line before ${JSON.stringify(glued.split('\n').at(-1))} is not a KEY=value line; fix it or comment it out with #`);
}

/**
 * Refuses a file that loses a line, warns on stderr (the server still starts) of each pairgate key
 * that `sections` do not declare, and returns the file's values. Other keys may belong to another
 * program sharing the file (the seed's plexus.config).
 */
export function checkConfigFile(path: string, text: string, sections: readonly ConfigSection[]): Record<string, string> {
  checkLines(path, text);
  const values = parseEnv(text) as Record<string, string>;
  const known = sections.flatMap((section) => Object.keys(section.properties));
  for (const warning of unknownKeyWarnings(Object.keys(values), known, ['PAIRGATE_', 'PLEXUS_'])) {
    console.error(`pairgate: warning: --config: ${path}: ${warning}`);
  }
  return values;
}
