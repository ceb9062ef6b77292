import { randomFillSync } from 'node:crypto';

/** Bytes read from the CSPRNG at once. */
const POOL_SIZE = 4096;

let pool = Buffer.allocUnsafeSlow(POOL_SIZE);
let offset = POOL_SIZE;

/**
 * Lets `read` see `size` random bytes from the operating system's CSPRNG (`bytes[start]` to
 * `bytes[end - 1]`), served in place from a pool refilled 4 KiB at a time, then wipes them. Every
 * call into the CSPRNG costs a few microseconds whatever its size, and creating a grant needs three
 * small draws (id, secret, code); a pool turns them into one call per hundred grants. Each byte is
 * handed out once. No Buffer is made per draw (each would be an ArrayBuffer view for the collector
 * to sweep): `read` turns the bytes into what it needs (a code's symbols) and must not keep `bytes`.
 * Node pools `crypto.randomUUID` the same way.
 */
export function readPooled<T>(size: number, read: (bytes: Uint8Array, start: number, end: number) => T): T {
  if (size > POOL_SIZE / 4) {
    const bytes = randomFillSync(new Uint8Array(size));
    return read(bytes, 0, size);
  }
  const start = take(size);
  try {
    return read(pool, start, start + size);
  } finally {
    wipe(start, size);
  }
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
