/**
 * Refusals a command raises after its call was accepted (its signature or fingerprint spent: the
 * claim that makes exactly one of two identical deliveries run) that changed nothing stored: a
 * link token already used, made through an earlier installation, of a deleted organization, or
 * the wrong-token budget spent; an install from another site, or of a setup rotated or expired
 * meanwhile (its transaction rolled back). The call did nothing, so its claim is given back and the same call
 * sent again is told the same refusal, not that it was replayed. Refusals said before anything is
 * looked up (a malformed token) need none of this: they come before the claim.
 */
const unchanged = new WeakSet<object>();

/** Marks `error` as a refusal raised before anything was stored, and returns it. */
export function changedNothing<E extends Error>(error: E): E {
  unchanged.add(error);
  return error;
}

/**
 * Runs the work of a call holding a claim; a refusal marked by `changedNothing` gives the claim
 * back (`release`: the claim's key deleted) before it is thrown.
 *
 * Why a release cannot let a duplicate run twice: only the holder releases, once its work has
 * ended, having stored nothing; a duplicate that arrived meanwhile was refused as replayed and ran
 * nothing, and one arriving after takes the claim afresh, alone again.
 *
 * Any other failure keeps the claim, a 5xx included (a store failing mid-call). Whether it stored
 * nothing cannot be told from the error: the commands write to several stores with no transaction
 * around them (a link token's approval in the grant store, its spent-note and the wrong-token
 * counts in the ephemeral store, the link's row in the database), and a write may commit before its
 * reply is lost. Giving the claim back then would let the same call (or a captured copy) run
 * again over a change already made, e.g. an unlink that did commit, replayed after the person linked
 * again. A sender whose call failed signs it afresh (a new timestamp); a person runs the command
 * again (Mattermost signs a new token each second).
 */
export async function runClaimed<T>(release: () => Promise<void>, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    // A release that fails keeps the claim: the call sent again is refused as replayed, never run twice.
    if (typeof error === 'object' && error !== null && unchanged.has(error)) await release().catch(() => undefined);
    throw error;
  }
}
