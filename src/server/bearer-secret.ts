import type { FastifyReply } from 'fastify';
import { ConfigError, UnauthorizedError } from '../core/errors.js';
import { constantTimeEqual } from '../core/ids.js';

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

/** What `checkBearerSecret` says when a request lacks the secret, or brings another. */
export interface BearerRefusal {
  /** The realm of the `WWW-Authenticate: Bearer` challenge. */
  realm: string;
  /** The machine code of the 401. */
  code: string;
  /** The message when no Bearer token came. */
  missing: string;
  /** The message when another one came. */
  wrong: string;
}

/**
 * Lets a request through only with `Authorization: Bearer <secret>`, compared in constant time; the
 * scheme is read without regard to case, as RFC 7235 §2.1 has it (some clients and proxies send
 * `bearer`). Anyone else gets 401 with the challenge RFC 7235 §3.1 asks of a 401 (with
 * `error="invalid_token"` for a wrong one) and a message naming what to send. The secrets this
 * guards have 32 characters or more (`assertBearerSecret`), out of reach of guessing, so wrong
 * ones are not budgeted.
 */
export function checkBearerSecret(authorization: string | undefined, reply: FastifyReply, secret: string, refusal: BearerRefusal): void {
  const presented = authorization === undefined ? undefined : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization)?.[1];
  if (presented !== undefined && constantTimeEqual(presented, secret)) return;
  reply.header('www-authenticate', authorization === undefined ? `Bearer realm="${refusal.realm}"` : `Bearer realm="${refusal.realm}", error="invalid_token"`);
  throw new UnauthorizedError(authorization === undefined ? refusal.missing : refusal.wrong, refusal.code);
}
