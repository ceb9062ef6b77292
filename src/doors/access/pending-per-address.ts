import { PairgateError } from '../../core/errors.js';
import type { EphemeralStore } from '../../store/ports.js';

/**
 * How many auth requests one client address may have waiting at once. The per-minute rate limit
 * alone lets an address start PAIRGATE_ACCESS_CREATE_PER_MINUTE x TTL requests (3600 with the
 * defaults), so a handful of addresses could fill PAIRGATE_ACCESS_MAX_PENDING and lock every app
 * out for an hour.
 *
 * The count lives in the ephemeral store, so it holds across nodes, and uses only its atomic
 * `increment`: no read-then-write a burst of concurrent requests could slip through. Time is cut
 * into buckets of a sixth of the request lifetime; a request counts in the bucket of its creation,
 * and a bucket's entry lives until the last request it counts can have expired (the bucket's end
 * plus the lifetime). The live entries of an address therefore add up to at least the number of
 * its requests still alive, never fewer, and at most one bucket's worth more (requests already
 * expired whose bucket has not). Decided requests still count until they would have expired: the
 * stores have no atomic decrement, and a decided request is a finished one from this address anyway.
 */

/** Buckets per request lifetime: more buckets follow expiry more closely, each costs a live entry. */
const BUCKETS = 6;

/** 429 `too_many_pending`: this address has too many auth requests waiting. */
export class TooManyPendingError extends PairgateError {
  constructor(retryAfterSeconds: number, limit: number) {
    super('too_many_pending', 429, `Your address already has ${limit} auth requests waiting. Finish or abandon some, then try again in ${retryAfterSeconds} s.`, { retryAfterSeconds });
  }
}

/** What `countPendingFrom` found: the address's requests alive (the new one included) and when its oldest bucket frees room. */
export interface PendingCount {
  live: number;
  retryAfterSeconds: number;
}

/**
 * Counts one more auth request from `address` and throws TooManyPendingError when that makes more
 * than `limit` within the lifetime `ttlMs` of a request; else returns the count (for the crowded
 * share, `crowdedCapacity`). A refused attempt counts too, as with every rate limit: an address
 * that keeps trying stays refused.
 */
export async function countPendingFrom(ephemeral: EphemeralStore, address: string, limit: number, ttlMs: number, now: number): Promise<PendingCount> {
  const width = Math.ceil(ttlMs / BUCKETS);
  const bucket = Math.floor(now / width);
  // The trailing `|` keeps 10.0.0.1 from listing the buckets of 10.0.0.10.
  const prefix = `access-pending|${address}|`;
  await ephemeral.increment(`${prefix}${bucket}`, (bucket + 1) * width + ttlMs - now, now);
  const buckets = await ephemeral.list(prefix, now);
  const live = buckets.reduce((sum, entry) => sum + Number(entry.value), 0);
  // The oldest bucket is the first to free room.
  const freedAt = Math.min(...buckets.map((entry) => entry.expiresAt));
  const retryAfterSeconds = Math.max(1, Math.ceil((freedAt - now) / 1000));
  if (live > limit) throw new TooManyPendingError(retryAfterSeconds, limit);
  return { live, retryAfterSeconds };
}

/** 429 `too_many_pending` of a crowded address when half the server's places are taken (`crowdedCapacity`). */
export function crowdedAddressRefusal(count: PendingCount): PairgateError {
  return new PairgateError('too_many_pending', 429, `This server has many auth requests waiting, and your address already has ${count.live - 1} of them. Finish or abandon some, then try again in ${count.retryAfterSeconds} s.`, { retryAfterSeconds: count.retryAfterSeconds });
}
