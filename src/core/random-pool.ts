import { randomFillSync } from 'node:crypto';

/** Bytes read from the CSPRNG at once. */
const POOL_SIZE = 4096;

let pool = Buffer.allocUnsafeSlow(POOL_SIZE);
let offset = POOL_SIZE;

/**
 * `size` bytes from the operating system's CSPRNG, served from a pool refilled 4 KiB at a time.
 * Every call into the CSPRNG costs a few microseconds whatever its size, and creating a grant
 * needs three small draws (id, secret, code); a pool turns them into one call per hundred grants.
 * Each byte is handed out once and the result is a copy, so callers never share bytes. Node does
 * the same for `crypto.randomUUID`.
 */
export function randomBytesPooled(size: number): Buffer {
  if (size > POOL_SIZE / 4) return randomFillSync(Buffer.allocUnsafe(size));
  const start = take(size);
  const bytes = Buffer.from(pool.subarray(start, start + size));
  wipe(start, size);
  return bytes;
}

/**
 * `size` random bytes from the same pool, written as text in `encoding` (base64url for ids and
 * tokens). Read straight from the pool, then wiped: no copy of a secret's bytes is left in a
 * buffer of its own for the collector to free some time later (and no view or copy is made).
 */
export function randomTextPooled(size: number, encoding: 'base64url' | 'hex'): string {
  if (size > POOL_SIZE / 4) return randomFillSync(Buffer.allocUnsafe(size)).toString(encoding);
  const start = take(size);
  const text = pool.toString(encoding, start, start + size);
  wipe(start, size);
  return text;
}

/** The offset of `size` unspent bytes in the pool, refilled first when fewer are left. */
function take(size: number): number {
  if (offset + size > POOL_SIZE) {
    pool = randomFillSync(Buffer.allocUnsafeSlow(POOL_SIZE));
    offset = 0;
  }
  const start = offset;
  offset += size;
  return start;
}

/** Spent bytes are wiped, so a later dump of the pool shows no secret handed out earlier. */
function wipe(start: number, size: number): void {
  pool.fill(0, start, start + size);
}
