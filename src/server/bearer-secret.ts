import { ConfigError } from '../core/errors.js';

/**
 * The shortest bearer secret a setting takes. Bearer secrets (the device admin token, the
 * introspection secrets, the metrics token) are typed by no person and guessed by anyone who can
 * reach the endpoint: 32 characters of `openssl rand -base64 32` hold far more than the 128 bits
 * that put guessing out of reach, while a word or a short phrase would fall to a dictionary within
 * the endpoint's rate limit.
 */
export const BEARER_SECRET_MIN_LENGTH = 32;

/**
 * Refuses start-up when `key` holds a bearer secret too short to be safe, or with white space (a
 * copy-paste error that no `Authorization` header could match); empty is allowed and means what
 * `whenEmpty` says.
 */
export function assertBearerSecret(key: string, value: string, whenEmpty: string): void {
  if (value === '') return;
  if (value.length < BEARER_SECRET_MIN_LENGTH || /\s/.test(value)) {
    throw new ConfigError(key, `expected a secret of at least ${BEARER_SECRET_MIN_LENGTH} characters without spaces (e.g. openssl rand -base64 32), or empty ${whenEmpty}`);
  }
}
