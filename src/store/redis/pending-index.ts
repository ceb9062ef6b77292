import type { Redis } from 'ioredis';
import { runScript } from './redis-scripts.js';

/** Ids asked of a kind's expiry set per step (about as many per script): keeps each script short, so Redis stays responsive. */
const PAGE = 1_000;

/**
 * Puts the live pending grants that are missing from their kind's pending set (`P p:<kind>`, which
 * `countPending` reads) into it, and returns how many it added.
 *
 * Grants created before the pending set existed (pairgate before commit a90dd0d, whose create
 * script wrote only `P k:<kind>`) are pending but in no pending set: after an upgrade the caps on
 * codes (`PAIRGATE_MAX_LIVE_CODES`, the device door's pending cap) did not count them until they
 * expired. Run at every start, not once behind a marker: an older node still creating during a
 * rolling upgrade leaves the same gap, and a start closes it (its decisions do not take grants out of
 * the set either: those stay counted until they expire, an over-count on the safe side). The cost is one read per live grant.
 */
export async function indexPendingGrants(redis: Redis, prefix: string, now: number): Promise<number> {
  let added = 0;
  for (const kind of await redis.smembers(`${prefix}kinds`)) {
    // A cursor, not pages by score or rank: it returns every id there from start to end even while
    // a sweep removes entries, and however many share one expiry (pages by score stopped at a
    // thousand ids with the same one). An id returned twice is added once (ZADD NX); the script
    // checks each grant's own state and expiry.
    let cursor = '0';
    do {
      const [next, page] = await redis.zscan(`${prefix}k:${kind}`, cursor, 'COUNT', PAGE);
      cursor = next;
      const ids = page.filter((_, i) => i % 2 === 0);
      if (ids.length > 0) added += Number(await runScript(redis, 'indexPending', [`${prefix}p:${kind}`], [prefix, String(now), ...ids]));
    } while (cursor !== '0');
  }
  return added;
}
