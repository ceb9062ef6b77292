import { readFileSync } from 'node:fs';
import { InvalidRequestError } from '../core/errors.js';

/**
 * Checks of option values that several commands share. Each throws InvalidRequestError (exit code
 * 2) with one line naming the option and saying what it takes, before any request is made.
 */

/**
 * `value` when it is an absolute http(s) URL without a user name or password; otherwise an error
 * naming `name` (the option, and the environment variable its default comes from) with an example
 * of what it takes. A URL with credentials is refused before anything prints or sends it: fetch
 * refuses it anyway, with the whole URL in its message, and `pairgate doctor --json` is a report
 * made to be shared. No message repeats what such a URL holds before its host.
 */
export function httpUrlOption(value: string, name: string, example: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url && (url.username !== '' || url.password !== '')) {
    throw new InvalidRequestError(`${name}: the URL ${withoutUserinfo(url)} carries a user name or password (user:password@), which pairgate never sends there: give the URL without it (e.g. ${example}).`);
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new InvalidRequestError(`${name}: "${redactUserinfo(value)}" is not an http:// or https:// URL (e.g. ${example}).`);
  }
  return value;
}

/** `url` as text with its user name and password left out. */
function withoutUserinfo(url: URL): string {
  const bare = new URL(url.href);
  bare.username = '';
  bare.password = '';
  return bare.href;
}

/**
 * `value` with what comes before an "@" ahead of the host replaced (after the scheme's "//", if
 * any): for a text that is no http URL (`user:pw@host`, `ftp://user:pw@host`), which may still
 * hold a password to keep off the screen.
 */
function redactUserinfo(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^/?#]*@/i, (_match, scheme: string | undefined) => `${scheme ?? ''}***@`);
}

/** The text of a file named by an option, or an error naming the option and the file. */
export function readOptionFile(path: string, name: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new InvalidRequestError(`${name}: cannot read ${path} (${code}).`);
  }
}

/**
 * A whole-number option from `min` to `max`, or an error naming it. Digits only: Number() would
 * take "" (an unset shell variable) as 0, which for a port means "any free port".
 */
export function intOption(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidRequestError(`${name} must be a whole number from ${min} to ${max}.`);
  return n;
}

/**
 * `value` when it has `min` to `max` characters, counted as the server counts them (code points);
 * otherwise an error naming the option, where the server would name a field of its request body.
 * A text that must have some (`min` above 0) must also not be only white space (as `trim` counts
 * it, which is the server's `\S`): `--label "   "` would show the approver nothing, and the server
 * refuses it only after a round trip, in words about its body's field.
 */
export function textOption(value: string, name: string, min: number, max: number): string {
  const length = [...value].length;
  if (length < min || length > max) throw new InvalidRequestError(`${name} takes ${min > 0 ? `${min} to ${max}` : `up to ${max}`} characters; this one has ${length}.`);
  if (min > 0 && value.trim() === '') throw new InvalidRequestError(`${name} is blank (only spaces): give it ${min} to ${max} characters that are not all spaces.`);
  return value;
}
