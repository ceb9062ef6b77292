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
  if (offset + size > POOL_SIZE) {
    pool = randomFillSync(Buffer.allocUnsafeSlow(POOL_SIZE));
    offset = 0;
  }
  const bytes = Buffer.from(pool.subarray(offset, offset + size));
  // Spent bytes are wiped, so a later dump of the pool shows no secret handed out earlier.
  pool.fill(0, offset, offset + size);
  offset += size;
  return bytes;
}
