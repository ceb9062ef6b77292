import type { Redis } from 'ioredis';
import { runScript } from './redis-scripts.js';

/** Ids read from a kind's expiry set per script: keeps each script short, so Redis stays responsive. */
const PAGE = 1_000;

/**
 * Puts the live pending grants that are missing from their kind's pending set (`P p:<kind>`, which
 * `countPending` reads) into it, and returns how many it added.
 *
 * Grants created before the pending set existed (pairgate before commit a90dd0d, whose create
 * script wrote only `P k:<kind>`) are pending but in no pending set: after an upgrade the caps on
 * codes (`PAIRGATE_MAX_LIVE_CODES`, the device door's pending cap) did not count them until they
 * expired. Run at every start, not once behind a marker: an older node still creating during a
 * rolling upgrade leaves the same gap, and a start closes it. The cost is one read per live grant.
 */
export async function indexPendingGrants(redis: Redis, prefix: string, now: number): Promise<number> {
  let added = 0;
  for (const kind of await redis.smembers(`${prefix}kinds`)) {
    const live = `${prefix}k:${kind}`;
    // Pages by score, not by rank: a sweep removing entries meanwhile would shift ranks.
    let from = `(${now}`;
    for (;;) {
      const page = await redis.zrangebyscore(live, from, '+inf', 'WITHSCORES', 'LIMIT', 0, PAGE);
      const ids = page.filter((_, i) => i % 2 === 0);
      if (ids.length > 0) added += Number(await runScript(redis, 'indexPending', [`${prefix}p:${kind}`], [prefix, String(now), ...ids]));
      if (ids.length < PAGE) break;
      // Ids sharing the last score are read again on the next page: ZADD NX adds each once.
      const last = page[page.length - 1]!;
      if (from === last) break;
      from = last;
    }
  }
  return added;
}
