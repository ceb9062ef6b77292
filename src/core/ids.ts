import { hash, timingSafeEqual } from 'node:crypto';
import { randomTextPooled } from './random-pool.js';

/**
 * Ids, tokens and their hashes. Every value that grants something is drawn from the operating
 * system's CSPRNG and is stored only as a SHA-256 hash; comparisons of secrets are constant-time.
 */

/** A random id of `bytes` bytes (default 16 = 128 bits), base64url without padding. */
export function randomId(bytes = 16): string {
  return randomTextPooled(bytes, 'base64url');
}

/**
 * A random id (128 bits, as `randomId`) behind the creation time: 12 hex digits of milliseconds.
 * Ids made later sort after earlier ones, so a database appends new rows to the end of its id index
 * instead of writing into a random page of it for each one (a third of the cost of creating a
 * grant in SQLite). The time is not secret; the 128 random bits keep the id unguessable.
 */
export function timeOrderedId(now = Date.now()): string {
  const millisecond = Math.max(0, Math.floor(now));
  if (millisecond !== lastMillisecond) {
    // A double's hexadecimal text takes V8's slow path (DoubleToRadixCString); at thousands of
    // creations a second, most share their millisecond with the one before.
    lastMillisecond = millisecond;
    lastTimePrefix = millisecond.toString(16).padStart(12, '0');
  }
  return lastTimePrefix + randomId();
}

/** The millisecond of the last time-ordered id, and its 12 hex digits. */
let lastMillisecond = -1;
let lastTimePrefix = '';

/** Whether `text` has the shape of a `randomToken()` of 32 bytes (43 base64url characters): anything else need not be looked up. */
export function isTokenShaped(text: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(text);
}

/** A random bearer token (256 bits), base64url. */
export function randomToken(bytes = 32): string {
  return randomTextPooled(bytes, 'base64url');
}

/** SHA-256 of a token, base64url: what the stores keep instead of the token. */
export function hashToken(token: string): string {
  // The one-shot hash: half the cost of a Hash object, and every code look-up and redeem pays it.
  return hash('sha256', token, 'base64url');
}

/**
 * Compares two strings in constant time. Both sides are hashed (SHA-256) first, so the comparison
 * always runs over 32 bytes: neither where the strings first differ nor how long the expected one
 * is (an admin password, a shared secret) shows in the time taken.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  return timingSafeEqual(hash('sha256', a, 'buffer'), hash('sha256', b, 'buffer'));
}
