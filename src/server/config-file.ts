import { readFileSync, statSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { ConfigError } from '../core/errors.js';

/**
 * A configuration file (`serve --config`, `ConfigSources.file`): read once, decoded, checked
 * line by line and parsed, so every reader of a start (the unknown-key warnings, the values
 * loaded) sees the same text even if the file changes meanwhile.
 *
 * The checks are for the mistakes a person makes writing one that the parser (util.parseEnv)
 * lets pass without a word: a line that is not KEY=value is joined to the key of the next one
 * ("garbage\nPAIRGATE_PORT"), so the setting written there is lost, or, on the last line, dropped;
 * a file saved in another encoding than UTF-8 has its accented values silently replaced. Each
 * line is read here the way parseEnv reads it, to name the one at fault.
 */

/** A configuration file as read: where it is and its values. */
export interface ConfigFile {
  path: string;
  /** Every KEY=value of the file, as parseEnv reads it. */
  values: Record<string, string>;
  /** Keys set on more than one line, with those lines (1-based): the last one counts. */
  repeated?: readonly RepeatedKey[];
}

/** A key a file sets more than once. */
export interface RepeatedKey {
  key: string;
  lines: readonly number[];
}

/** A configuration file is a few KiB; a larger one is most likely another file (a database, a log). */
const MAX_FILE_BYTES = 1024 * 1024;

/** What a ConfigError about the file is filed under: the option that names it. */
const SOURCE = '--config';

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
  const key = keyOf(line);
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

/** The key of a setting line (`export KEY = value`), as parseEnv reads it. */
function keyOf(line: string): string {
  return trimSpaces(trimSpaces(line.slice(0, line.indexOf('='))).replace(/^export /, ''));
}

/**
 * The part of the value of the setting on lines `index` to `end` that parseEnv drops without a
 * word, if any: in a value without quotes, everything from a `#` on (a comment to it, even with no
 * space before it: a password `abc#123` was read as `abc`); after a closing quote, anything but a
 * comment. Said without the value, which may be a secret.
 */
function valueProblem(key: string, lines: readonly string[], index: number, end: number): BadLine | undefined {
  const raw = lines[index]!.slice(lines[index]!.indexOf('=') + 1);
  const value = trimSpaces(raw);
  const quote = value[0];
  if (quote === '"' || quote === "'" || quote === '`') {
    const closing = end === index ? value.indexOf(quote, 1) : lines[end]!.indexOf(quote);
    // A quote never closed is a value of one line, read as it stands (see settingEnd).
    if (closing < 0) return undefined;
    const after = (end === index ? value : lines[end]!).slice(closing + 1).trim();
    if (after === '' || after.startsWith('#')) return undefined;
    return { number: end + 1, why: `${key} has text after the quote that closes its value, which is dropped; put all of the value inside the quotes, or start a comment with #` };
  }
  const hash = raw.indexOf('#');
  // "KEY=value # a comment" is one, as meant.
  if (hash < 0 || (hash > 0 && /[ \t]/.test(raw[hash - 1]!))) return undefined;
  return { number: index + 1, why: `the value of ${key} holds a # that is read as the start of a comment, so what follows it is dropped; put the value in quotes ("...") to keep the #, or a space before # for a comment` };
}

/** What reading `text` line by line finds: the first line that is not KEY=value, and the line of each setting's key. */
interface LineScan {
  bad?: BadLine;
  /** Each key with the lines that set it, in order. */
  keyLines: Map<string, number[]>;
}

/** Reads `text` line by line as parseEnv does, up to the first line that is not KEY=value, a comment or empty. */
function scanLines(text: string): LineScan {
  // parseEnv drops every \r, and then reads lines between \n.
  const lines = text.replaceAll('\r', '').split('\n');
  const keyLines = new Map<string, number[]>();
  for (let index = 0; index < lines.length; index++) {
    const why = lineProblem(lines[index]!);
    if (why) return { bad: { number: index + 1, why }, keyLines };
    if (lines[index]!.includes('=') && !lines[index]!.startsWith('#')) {
      const key = keyOf(lines[index]!);
      keyLines.set(key, [...(keyLines.get(key) ?? []), index + 1]);
      const end = settingEnd(lines, index);
      const lost = valueProblem(key, lines, index, end);
      if (lost) return { bad: lost, keyLines };
      index = end;
    }
  }
  return { keyLines };
}

/**
 * Refuses a file with a line that is not KEY=value, naming the file and the line, wherever the line
 * is (parseEnv hides the setting after it, or drops it when it is the last).
 */
function checkLines(path: string, text: string): LineScan {
  const scan = scanLines(text);
  const bad = scan.bad;
  if (bad) throw new ConfigError(SOURCE, `${path}, line ${bad.number}: ${bad.why}; fix it or comment it out with #`);
  // Should this reading and parseEnv's ever part (another Node), a key glued to a line before it
  // still stops the start rather than losing a setting. A commented last line with an = in it and
  // no newline after it comes back as a key "#..." of its own, which hides nothing.
  const glued = Object.keys(parseEnv(text)).find((key) => !KEY.test(key) && !/^#[^\n]*$/.test(key));
  if (glued !== undefined) throw new ConfigError(SOURCE, `${path}: a line before ${JSON.stringify(glued.split('\n').at(-1))} is not a KEY=value line; fix it or comment it out with #`);
  return scan;
}

/**
 * The values of a configuration file's `text`, refusing a line that is not KEY=value (named by its
 * number) rather than losing the setting after it, and the keys it sets more than once.
 */
export function parseConfigText(path: string, text: string): ConfigFile {
  const { keyLines } = checkLines(path, text);
  const repeated = [...keyLines].filter(([, lines]) => lines.length > 1).map(([key, lines]) => ({ key, lines }));
  return { path, values: parseEnv(text) as Record<string, string>, ...(repeated.length > 0 ? { repeated } : {}) };
}

/** The byte-order marks of UTF-16 and UTF-32, which editors on Windows call "Unicode". */
const WIDE_MARKS: readonly { name: string; bytes: readonly number[] }[] = [
  { name: 'UTF-32', bytes: [0xff, 0xfe, 0x00, 0x00] },
  { name: 'UTF-32', bytes: [0x00, 0x00, 0xfe, 0xff] },
  { name: 'UTF-16', bytes: [0xff, 0xfe] },
  { name: 'UTF-16', bytes: [0xfe, 0xff] },
];

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
const SAVE_AS_UTF8 = 'save it as UTF-8 (in most editors: Save As, Encoding: UTF-8)';

/** Whether `bytes` are whole UTF-8 characters; with `more`, the last may be cut (its next bytes to come). */
function isUtf8(bytes: Uint8Array, more = false): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: more });
    return true;
  } catch {
    return false;
  }
}

/**
 * The first byte of `line` that starts no UTF-8 character: the prefix is read a byte more each
 * time (a line is short) until it fails, then the character it failed in is found by going back
 * to the last point where the prefix was whole characters ("caf\xe9." fails at the dot, in the
 * character 0xE9 started).
 */
function badByteOf(line: Uint8Array): number {
  let end = 1;
  while (end < line.length && isUtf8(line.subarray(0, end), true)) end++;
  let start = end - 1;
  while (start > 0 && !isUtf8(line.subarray(0, start))) start--;
  return line[start] ?? 0;
}

/**
 * The 1-based number and first bad byte of the first line of `bytes` that is not UTF-8. A newline
 * byte is never part of a UTF-8 character, so the file is cut at them and each line decoded alone.
 */
function firstBadLine(bytes: Uint8Array): { line: number; byte: number } {
  let start = 0;
  for (let line = 1; start <= bytes.length; line++) {
    const newline = bytes.indexOf(0x0a, start);
    const end = newline < 0 ? bytes.length : newline;
    const text = bytes.subarray(start, end);
    try {
      UTF8.decode(text);
    } catch {
      return { line, byte: badByteOf(text) };
    }
    start = end + 1;
  }
  return { line: 1, byte: bytes[0] ?? 0 };
}

/**
 * The text of a configuration file's `bytes`: UTF-8, a leading byte-order mark dropped (Notepad
 * writes one; parseEnv would make it part of the first key, which then is no key). Any other
 * encoding is refused, naming the line, rather than read with its accented letters replaced.
 */
export function decodeConfigBytes(path: string, bytes: Uint8Array): string {
  const wide = WIDE_MARKS.find((mark) => mark.bytes.every((byte, at) => bytes[at] === byte));
  if (wide) throw new ConfigError(SOURCE, `${path} is saved as ${wide.name} text, not UTF-8: ${SAVE_AS_UTF8}`);
  try {
    return UTF8.decode(bytes);
  } catch {
    const bad = firstBadLine(bytes);
    const hex = `0x${bad.byte.toString(16).toUpperCase().padStart(2, '0')}`;
    throw new ConfigError(SOURCE, `${path}, line ${bad.line}: byte ${hex} is not UTF-8 text (the file is in another encoding, such as Latin-1 or Windows-1252): ${SAVE_AS_UTF8}`);
  }
}

/** Why a file could not be read, in words (with the system's code for a search): for a setting naming a file. */
export function unreadable(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const why: Record<string, string> = {
    ENOENT: 'there is no such file',
    EACCES: 'permission denied (check its owner and mode)',
    EPERM: 'permission denied (check its owner and mode)',
    EISDIR: 'it is a folder, not a file',
    ENOTDIR: 'a folder on its path is a file',
  };
  return code && why[code] ? `${why[code]} (${code})` : (code ?? String(error));
}

/**
 * Reads the configuration file at `path` once: decoded (`decodeConfigBytes`), checked line by
 * line and parsed (`parseConfigText`); every problem is a ConfigError naming the file.
 */
export function readConfigFile(path: string): ConfigFile {
  let bytes: Uint8Array;
  try {
    const kind = statSync(path);
    // A device never ends (--config /dev/zero filled the memory until the process was killed);
    // a pipe (--config <(...)) or a file is read.
    if (kind.isCharacterDevice() || kind.isBlockDevice()) throw new ConfigError(SOURCE, `${path} is a device, not a file: give the path of the configuration file`);
    if (kind.isFile() && kind.size > MAX_FILE_BYTES) throw new ConfigError(SOURCE, `${path} has ${kind.size} bytes, more than a configuration file's ${MAX_FILE_BYTES}: is it the right file?`);
    bytes = readFileSync(path);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(SOURCE, `cannot read ${path}: ${unreadable(error)}`);
  }
  return parseConfigText(path, decodeConfigBytes(path, bytes));
}
