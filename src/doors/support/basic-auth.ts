import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { UnauthorizedError } from '../../core/errors.js';
import { constantTimeEqual } from '../../core/ids.js';
import { PasswordHashing, processGate } from '../accounts/password-hashing.js';

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number, options: { N: number; r: number; p: number }) => Promise<Buffer>;
const SCRYPT = { N: 16384, r: 8, p: 1 };

/** The gate of a process that runs no accounts door: the accounts' default places (2 running, 32 waiting). */
let ownGate: PasswordHashing | undefined;

/**
 * The gate every supporter-password scrypt goes through: the node's (the accounts door's,
 * `PAIRGATE_PASSWORD_HASHES_AT_ONCE` and `PAIRGATE_PASSWORD_HASH_QUEUE`), shared with sign-ins,
 * since a session's own login is checked with one scrypt on every supporter call that presents it
 * (no verified credentials are cached), each holding 16 MiB and one of libuv's threads. Beyond the
 * gate's places a check is refused at once, 503 `password_hashing_busy` with Retry-After, rather
 * than queued without bound in front of everyone's sign-ins.
 */
function gate(): PasswordHashing {
  return processGate() ?? (ownGate ??= new PasswordHashing({ cost: Math.log2(SCRYPT.N), atOnce: 2, waiting: 32 }));
}

/** The realm named in WWW-Authenticate. */
export const REALM = 'pairgate support';

/** User and password of a Basic Authorization header, or undefined. */
export function basicCredentials(request: FastifyRequest): { user: string; password: string } | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string' || !/^Basic\s+/i.test(header)) return undefined;
  const decoded = Buffer.from(header.replace(/^Basic\s+/i, ''), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Throws 401 with `WWW-Authenticate: Basic realm="..."`. */
export function challenge(reply: FastifyReply, message = 'Sign in with the supporter credentials (HTTP Basic).'): never {
  reply.header('www-authenticate', `Basic realm="${REALM}", charset="UTF-8"`);
  throw new UnauthorizedError(message, 'unauthorized');
}

/** True when the header carries `user`/`password` (both compared in constant time). */
export function matchesAdmin(given: { user: string; password: string } | undefined, user: string, password: string): boolean {
  if (!given || !user || !password) return false;
  // Both comparisons run, so the time does not tell which one failed.
  const userOk = constantTimeEqual(given.user, user);
  const passwordOk = constantTimeEqual(given.password, password);
  return userOk && passwordOk;
}

/**
 * A scrypt hash of a session password: `scrypt$<salt>$<hash>`. Through the node's password gate
 * (`gate`): 503 `password_hashing_busy` when it is full.
 */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await gate().run(() => scryptAsync(password, salt, 32, SCRYPT));
  return `scrypt$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

/**
 * Checks a password against a `hashPassword` hash, in constant time. Through the node's password
 * gate (`gate`): 503 `password_hashing_busy` when it is full.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await gate().run(() => scryptAsync(password, Buffer.from(salt, 'base64url'), expected.length, SCRYPT));
  return timingSafeEqual(actual, expected);
}

/** A hash of a random password, made once (lazily): what a login that is not there is checked against. */
let dummyHash: Promise<string> | undefined;

/**
 * Checks `password` against `stored`, or, when there is nothing to check it against (a username
 * that is not the session's login, a session without one, an id no session has), against a dummy
 * hash and answers false. Every refusal of credentials thus costs one scrypt, as a wrong password
 * does, so the time taken tells neither a session's login name nor whether it exists.
 */
export async function verifyPasswordOrDummy(password: string, stored: string | undefined): Promise<boolean> {
  if (stored !== undefined) return verifyPassword(password, stored);
  const made = (dummyHash ??= hashPassword(randomBytes(16).toString('base64url')));
  try {
    await verifyPassword(password, await made);
  } catch (error) {
    // Refused by a busy gate: the next check makes the dummy hash again, rather than every later
    // one being refused by the same failed promise.
    if (dummyHash === made) dummyHash = undefined;
    throw error;
  }
  return false;
}
