import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Password hashing with scrypt from node:crypto: a random 16-byte salt per password, the cost
 * parameters stored with the hash (`scrypt$<log2N>$<r>$<p>$<salt>$<hash>`) so the cost can rise
 * later without breaking old hashes, and a constant-time comparison.
 */

const KEY_LENGTH = 32;
const BLOCK_SIZE = 8;
const PARALLELISM = 1;

function derive(password: string, salt: Buffer, logN: number, r: number, p: number): Promise<Buffer> {
  const N = 2 ** logN;
  return new Promise((resolve, reject) => {
    // maxmem: scrypt needs 128 * N * r bytes; leave headroom above Node's 32 MiB default.
    scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** Hashes `password` with a fresh salt at cost 2^`logN`. */
export async function hashPassword(password: string, logN: number): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, logN, BLOCK_SIZE, PARALLELISM);
  return ['scrypt', logN, BLOCK_SIZE, PARALLELISM, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** True when `password` matches `stored`; a malformed stored hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [logN, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (![logN, r, p].every((n) => Number.isInteger(n) && n > 0 && n < 32)) return false;
  const expected = Buffer.from(parts[5] ?? '', 'base64url');
  const actual = await derive(password, Buffer.from(parts[4] ?? '', 'base64url'), logN, r, p);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/**
 * True when `stored` was not made at the configured cost (2^`logN`, r = 8, p = 1): an older cost, or
 * one since lowered. The sign-in that proves the password hashes it again, so raising
 * `PAIRGATE_SCRYPT_COST` protects every account that signs in, not only new passwords, and a
 * known name stops costing another time than the dummy hash an unknown one is checked against.
 */
export function needsRehash(stored: string, logN: number): boolean {
  const parts = stored.split('$');
  return parts[0] !== 'scrypt' || Number(parts[1]) !== logN || Number(parts[2]) !== BLOCK_SIZE || Number(parts[3]) !== PARALLELISM;
}

/**
 * A hash of a random password at the configured cost: verified against when the account does not
 * exist, so an unknown name costs the same time as a wrong password and reveals nothing.
 */
export async function dummyHash(logN: number): Promise<string> {
  return hashPassword(randomBytes(16).toString('base64url'), logN);
}
