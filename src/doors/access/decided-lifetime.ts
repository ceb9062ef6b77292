import type { DoorContext } from '../door.js';
import type { AccessGrant, AccessRequest, AccessResult } from './access-request.js';

/**
 * The first delivery of a decision starts its short life: from then on the request stays readable
 * `decidedTtlMs` (PAIRGATE_ACCESS_DECIDED_TTL_SECONDS), no longer the rest of the hour it was made
 * for. An accepted request opens the token in clear for whoever holds its key; once the app has
 * read it, keeping it readable only leaves it lying there. Every way a decision is delivered
 * calls this: the poll and its long-poll, the event stream, and the redirect that carries the
 * decision itself to the app (Pryv mode). Until then a decision waits for its reader.
 *
 * Returns the grant as it now stands; a pending one, or one already due sooner, is left as it is,
 * and so is one the update could not reach (gone meanwhile): its reader has had the decision.
 */
export async function startDecidedLifetime(ctx: DoorContext, grant: AccessGrant, decidedTtlMs: number): Promise<AccessGrant> {
  if (ctx.engine.stateOf(grant) === 'pending') return grant;
  const until = ctx.clock.now() + decidedTtlMs;
  if (grant.expiresAt <= until) return grant;
  const shortened = await ctx.engine.update<AccessRequest, AccessResult>(grant.id, (current) => (current.expiresAt > until ? { expiresAt: until } : {})).catch(() => grant);
  return shortened as AccessGrant;
}
