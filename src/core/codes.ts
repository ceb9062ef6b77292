import { createHmac } from 'node:crypto';
import { readPooled } from './random-pool.js';
import { CheckCharacter } from './check-character.js';
import { ConfigError } from './errors.js';

/**
 * Human codes: the one module that makes and reads every code a person types or reads out.
 *
 * A code format is an alphabet, a number of random symbols, an optional grouping for display and an
 * optional check character. Reading is forgiving (case, spaces, dashes and look-alike characters are
 * normalised) and strict (a wrong length, a foreign character or a failed check character is caught
 * before any request reaches a server).
 */

/** A named alphabet with its look-alike mappings. */
export interface Alphabet {
  /** Name used in configuration. */
  readonly name: string;
  /** The symbols, in the case codes are displayed. */
  readonly symbols: string;
  /** Whether input case is ignored (symbols are then all of one case). */
  readonly caseInsensitive: boolean;
  /** Characters a person may type for a symbol (after case folding), e.g. `o` for `0`. */
  readonly lookAlikes: Readonly<Record<string, string>>;
}

/**
 * Cyrillic and Greek capitals drawn like the Latin capital they stand under, on the keyboard
 * layouts people switch to (Russian, Ukrainian, Belarusian, Bulgarian, Serbian and Macedonian
 * Cyrillic, Greek): someone whose keyboard is left in such a layout types a code shown as `BHKM`
 * with the letters that look the same, and was told it was wrong. Only exact look-alikes of
 * capitals (Unicode's confusables, UTS #39, name each of them); no letter merely close (Cyrillic
 * П for N), and the lower case ones only as the same key without Shift (a code is shown in
 * capitals, and case is folded before the look-up): `lookAlikesOf` keeps the letters of one alphabet.
 */
const CYRILLIC_GREEK_CAPITALS: Readonly<Record<string, string>> = {
  B: '\u0412\u0392', // Cyrillic Ve, Greek Beta
  C: '\u0421', // Cyrillic Es
  H: '\u041d\u0397', // Cyrillic En, Greek Eta
  J: '\u0408', // Cyrillic Je (Serbian, Macedonian)
  K: '\u041a\u039a', // Cyrillic Ka, Greek Kappa
  M: '\u041c\u039c', // Cyrillic Em, Greek Mu
  N: '\u039d', // Greek Nu
  P: '\u0420\u03a1', // Cyrillic Er, Greek Rho
  S: '\u0405', // Cyrillic Dze (Macedonian)
  T: '\u0422\u03a4', // Cyrillic Te, Greek Tau
  X: '\u0425\u03a7', // Cyrillic Ha, Greek Chi
  Z: '\u0396', // Greek Zeta
};

/**
 * The look-alike table of an alphabet shown in capitals: each Cyrillic or Greek look-alike of one
 * of `symbols`' letters, keyed in lower case as `CodeFormat.normalise` looks it up.
 */
function lookAlikesOf(symbols: string): Record<string, string> {
  const table: Record<string, string> = {};
  for (const symbol of symbols) for (const lookAlike of CYRILLIC_GREEK_CAPITALS[symbol] ?? '') table[lookAlike.toLowerCase()] = symbol;
  return table;
}

/** The alphabets pairgate ships. */
export const ALPHABETS = {
  /** Crockford's base32 in lower case: no i, l, o, u; o reads as 0, i and l read as 1. */
  base32: {
    name: 'base32',
    symbols: '0123456789abcdefghjkmnpqrstvwxyz',
    caseInsensitive: true,
    lookAlikes: { o: '0', i: '1', l: '1' },
  },
  /**
   * RFC 8628's base-20 consonants (no vowels, so no words), upper case; their Cyrillic and Greek
   * look-alikes (`CYRILLIC_GREEK_CAPITALS`) read as them.
   */
  base20: {
    name: 'base20',
    symbols: 'BCDFGHJKLMNPQRSTVWXZ',
    caseInsensitive: true,
    lookAlikes: lookAlikesOf('BCDFGHJKLMNPQRSTVWXZ'),
  },
  /** Decimal digits; o reads as 0, i and l read as 1. */
  digits: {
    name: 'digits',
    symbols: '0123456789',
    caseInsensitive: true,
    lookAlikes: { o: '0', i: '1', l: '1' },
  },
  /** The relay's alphabet from seed 000: 1-9 and a-z without o (34 symbols, no check character). */
  relay34: {
    name: 'relay34',
    symbols: '123456789abcdefghijklmnpqrstuvwxyz',
    caseInsensitive: true,
    lookAlikes: {},
  },
} as const satisfies Record<string, Alphabet>;

/** Name of a shipped alphabet. */
export type AlphabetName = keyof typeof ALPHABETS;

/** How a door's codes look. */
export interface CodeFormatOptions {
  /** Alphabet name or object. */
  alphabet: AlphabetName | Alphabet;
  /** Number of random symbols (not counting the check character). */
  length: number;
  /** Symbols per group when displayed; 0 = no grouping. */
  groupSize?: number;
  /** Separator between groups when displayed. */
  separator?: string;
  /** Append a check character that catches single typos and neighbour swaps. */
  checkCharacter?: boolean;
}

/** Why a typed code was rejected before any look-up. */
export type CodeProblem = 'empty' | 'wrong_length' | 'bad_character' | 'check_failed';

/**
 * Result of reading a typed code. With `bad_character`, `character` is the one refused (a whole
 * code point, an emoji included) and `position` counts the normalised code's characters by code
 * points from 1; every character before it is a symbol of the alphabet. `length` is how many
 * characters the normalised code has, counted the same way. Doors that say
 * the problem in a page's language take these rather than count the input again.
 */
export type ParsedCode =
  | { ok: true; code: string }
  | { ok: false; problem: CodeProblem; message: string; length: number; position?: number; character?: string };

/**
 * `count` independent uniform draws from [0, size), size <= 256, from one read of the CSPRNG:
 * rejection sampling (bytes at or above the largest multiple of `size` are thrown away) keeps every
 * symbol equally likely, which `byte % size` alone would not.
 */
function uniformIndexes(size: number, count: number): number[] {
  const limit = 256 - (256 % size);
  const indexes: number[] = [];
  const collect = (bytes: Uint8Array, start: number, end: number): void => {
    for (let i = start; i < end && indexes.length < count; i++) {
      const byte = bytes[i]!;
      if (byte < limit) indexes.push(byte % size);
    }
  };
  // Draw a little more than needed so that one read almost always suffices.
  while (indexes.length < count) readPooled(count * 2, collect);
  return indexes;
}

/** Whether `text` is ASCII throughout, which Unicode normalisation (NFKC) leaves as it is. */
function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * What people type between a code's groups, or by mistake: removed before a code is read. Every
 * dash a keyboard, a word processor or a copied page may give (hyphen, non-breaking hyphen, figure
 * dash, en and em dash, horizontal bar, minus sign), and characters that show as nothing (soft
 * hyphen, zero-width space and joiners, word joiner, byte order mark), as RFC 8628 section 6.1 asks.
 */
const CODE_SEPARATORS = /[\s\-_.·\u00ad\u2010-\u2015\u2212\u200b-\u200d\u2060\ufeff]/g;

/** A code format: generates, normalises, checks and formats codes. */
export class CodeFormat {
  readonly alphabet: Alphabet;
  readonly length: number;
  readonly groupSize: number;
  readonly separator: string;
  readonly checker: CheckCharacter | undefined;
  private readonly indexOf: Map<string, number>;
  /**
   * Whether typed codes are folded to capitals: only for a case-insensitive alphabet shown in
   * capitals (digits alone have no case, and fold to lower case as letters would).
   */
  private readonly foldsToUpper: boolean;

  constructor(options: CodeFormatOptions) {
    this.alphabet = typeof options.alphabet === 'string' ? ALPHABETS[options.alphabet] : options.alphabet;
    if (!this.alphabet) throw new ConfigError('alphabet', `unknown alphabet "${String(options.alphabet)}"`);
    const size = this.alphabet.symbols.length;
    if (size < 2 || size > 256 || new Set(this.alphabet.symbols).size !== size) {
      throw new ConfigError('alphabet', 'an alphabet needs 2 to 256 distinct symbols');
    }
    if (!Number.isInteger(options.length) || options.length < 1 || options.length > 64) {
      throw new ConfigError('length', 'a code length must be an integer from 1 to 64');
    }
    this.length = options.length;
    this.groupSize = options.groupSize ?? 0;
    this.separator = options.separator ?? '-';
    this.indexOf = new Map([...this.alphabet.symbols].map((symbol, index) => [symbol, index]));
    this.foldsToUpper = /\p{Lu}/u.test(this.alphabet.symbols) && this.alphabet.symbols === this.alphabet.symbols.toUpperCase();
    if (options.checkCharacter) {
      this.checker = CheckCharacter.forAlphabetSize(this.alphabet.symbols.length);
      if (!this.checker) {
        throw new ConfigError(
          'checkCharacter',
          `no check character exists for an alphabet of ${this.alphabet.symbols.length} symbols`,
        );
      }
    }
  }

  /** Symbols in a stored code, check character included. */
  get totalLength(): number {
    return this.length + (this.checker ? 1 : 0);
  }

  /** Entropy of a code in bits (the check character adds none). */
  get entropyBits(): number {
    return this.length * Math.log2(this.alphabet.symbols.length);
  }

  /** Number of distinct codes. */
  get space(): number {
    return this.alphabet.symbols.length ** this.length;
  }

  /** A fresh code in canonical form (no separators), from the CSPRNG. */
  generate(): string {
    const symbols = this.alphabet.symbols;
    const indexes = uniformIndexes(symbols.length, this.length);
    if (this.checker) indexes.push(this.checker.compute(indexes));
    let code = '';
    for (const index of indexes) code += symbols[index];
    return code;
  }

  /** The code grouped for display, e.g. `BCDF-GHJK`. */
  format(code: string): string {
    if (!this.groupSize) return code;
    const groups: string[] = [];
    for (let i = 0; i < code.length; i += this.groupSize) groups.push(code.slice(i, i + this.groupSize));
    return groups.join(this.separator);
  }

  /**
   * Case folding, separator removal and look-alike mapping; no validation. Every code look-up and
   * decision runs it, so what does not depend on the input is decided once (`foldsToUpper`), and
   * text that is ASCII throughout, as nearly every typed or pasted code is, skips Unicode
   * normalisation, which leaves ASCII as it is.
   */
  normalise(input: string): string {
    let text = (isAscii(input) ? input : input.normalize('NFKC')).replace(CODE_SEPARATORS, '');
    if (this.alphabet.caseInsensitive) text = this.foldsToUpper ? text.toUpperCase() : text.toLowerCase();
    let out = '';
    for (const char of text) {
      if (this.indexOf.has(char)) {
        out += char;
        continue;
      }
      const mapped = this.alphabet.lookAlikes[this.alphabet.caseInsensitive ? char.toLowerCase() : char];
      out += mapped ?? char;
    }
    return out;
  }

  /**
   * What codes of this format are made of, in words, for the person who typed a character that is
   * not: "codes are made of the digits 1 to 9 and the letters a to z, with no zero and no letter o".
   * Characters read as a symbol (o for 0 in base32) are not refused, so they are not named.
   */
  madeOf(): string {
    const { symbols, lookAlikes, caseInsensitive } = this.alphabet;
    const fold = (char: string): string => caseInsensitive ? char.toLowerCase() : char;
    const inSymbols = new Set([...symbols].map(fold));
    const read = (char: string): boolean => inSymbols.has(char) || char in lookAlikes;
    const upper = caseInsensitive && /\p{Lu}/u.test(symbols) && symbols === symbols.toUpperCase();
    const display = (char: string): string => upper ? char.toUpperCase() : char;
    const digits = [...'0123456789'].filter((digit) => inSymbols.has(digit));
    const hasLetters = [...'abcdefghijklmnopqrstuvwxyz'].some((letter) => inSymbols.has(letter));
    const missingLetters = hasLetters ? [...'abcdefghijklmnopqrstuvwxyz'].filter((letter) => !read(letter)).map(display) : [];
    const othersThanDigitsAndLetters = [...symbols].some((symbol) => !/^[0-9a-z]$/i.test(symbol));
    // A short list of what is missing reads better than a long one of what is there; beyond a
    // handful (or with symbols beyond digits and letters), the symbols themselves are listed.
    if (othersThanDigitsAndLetters || missingLetters.length > 8 || !isRange(digits) || (!caseInsensitive && hasLetters)) {
      return `codes are made of these characters only: ${[...symbols].map(shown).join(' ')}`;
    }
    const digitWords = digits.length === 10 ? 'digits' : `the digits ${digits[0]} to ${digits.at(-1)}`;
    const made = !hasLetters ? `${digitWords} only`
      : !digits.length ? 'letters only'
        : `the digits ${digits[0]} to ${digits.at(-1)} and the letters ${display('a')} to ${display('z')}`;
    const without: string[] = [];
    if (hasLetters && digits.length && !read('0')) without.push('no zero');
    if (missingLetters.length === 1) without.push(`no letter ${missingLetters[0]}`);
    if (missingLetters.length > 1) without.push(`no ${missingLetters.slice(0, -1).join(', ')} or ${missingLetters.at(-1)}`);
    return `codes are made of ${made}${without.length ? `, with ${without.join(' and ')}` : ''}`;
  }

  /** Reads what a person typed: the canonical code, or why it cannot be one. */
  parse(input: string): ParsedCode {
    const code = this.normalise(input);
    if (code.length === 0) return { ok: false, problem: 'empty', length: 0, message: 'Enter the code.' };
    // By code points, not UTF-16 units: an emoji is one character to whoever typed it, named
    // whole (not half of its surrogate pair) and counted once in the positions after it.
    const chars = [...code];
    const indexes: number[] = [];
    for (const [i, char] of chars.entries()) {
      const index = this.indexOf.get(char);
      if (index === undefined) {
        return {
          ok: false,
          problem: 'bad_character',
          position: i + 1,
          character: char,
          length: chars.length,
          message: `${shown(char)} (character ${i + 1}) cannot appear in a code: ${this.madeOf()}. Check the code and type it again.`,
        };
      }
      indexes.push(index);
    }
    if (chars.length !== this.totalLength) {
      return {
        ok: false,
        problem: 'wrong_length',
        length: chars.length,
        message: `A code has ${this.totalLength} characters; this one has ${chars.length}${this.groupSize ? ' (dashes and spaces not counted)' : ''}. ${
          chars.length < this.totalLength ? 'Check that you typed all of it.' : 'Check that you typed only the code, and no character twice.'
        }`,
      };
    }
    if (this.checker && !this.checker.verify(indexes)) {
      return {
        ok: false,
        problem: 'check_failed',
        length: chars.length,
        message: 'This code has a typo: a character is wrong or two are swapped. Check it and type it again.',
      };
    }
    return { ok: true, code };
  }
}

/** Whether sorted digits follow each other without a gap ("1" to "9"). */
function isRange(digits: string[]): boolean {
  return digits.every((digit, index) => index === 0 || Number(digit) === Number(digits[index - 1]) + 1);
}

/**
 * A character as a message shows it: in quotes, or as its code point when it prints as nothing or
 * as blank (a zero-width space pasted with a code).
 */
function shown(char: string): string {
  return /^[\p{C}\p{Z}]$/u.test(char) ? `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}` : `"${char}"`;
}

/**
 * The keyed hash under which grants' codes are stored and looked up: HMAC-SHA-256 under the
 * server's code key (`PAIRGATE_CODE_HASH_KEY`) of the kind and the canonical code.
 *
 * Keyed, because codes are short (30 to 35 bits): a plain hash in a copy of the database gives
 * every live code up to a few minutes of offline guessing, and the copy alone opens nothing with
 * this one. The kind is part of it so that the same code in two doors never collides, and stores
 * never hold a live code in clear.
 */
export class CodeHasher {
  private readonly key: Buffer;

  /** `key`: 32 random bytes, the same on every node sharing the stores. */
  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('a code hash key has 32 bytes');
    this.key = Buffer.from(key);
  }

  /** The hash of `canonicalCode` (as `parse` returns it) in door `kind`, base64url. */
  hash(kind: string, canonicalCode: string): string {
    return createHmac('sha256', this.key).update(`${kind}:${canonicalCode}`).digest('base64url');
  }
}
